"""cases: who they are routed to, when they escalated to the backup, and the customer's satisfaction rating

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 20:08:49.624294
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('routed_to', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rating', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('rated_at')
        batch_op.drop_column('rating')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('routed_to')

