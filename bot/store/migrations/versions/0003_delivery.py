"""Adds outbox delivery bookkeeping (status, attempts, lease, backoff), delivery_attempts, worker_heartbeats, timer retries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 20:06:58.070935
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('worker_heartbeats',
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('worker')
    )
    op.create_table('delivery_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_attempts_outbox_id'), ['outbox_id'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='pending', nullable=False))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), server_default='', nullable=False))
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at', 'id'], unique=False)
    # Rows delivered before this revision existed are not delivered again.
    op.execute("UPDATE outbox SET status = 'delivered' WHERE delivered_at IS NOT NULL")

    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), server_default='', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_column('last_error')
        batch_op.drop_column('retry_at')
        batch_op.drop_column('attempts')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')
        batch_op.drop_column('last_error')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('status')

    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_attempts_outbox_id'))

    op.drop_table('delivery_attempts')
    op.drop_table('worker_heartbeats')
