"""slack_posts (outbox rows posted to Slack, with their ts) and slack_cards (case cards in the triage channel)

Revision ID: 0006_slack
Revises: 0005_rate_limits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006_slack'
down_revision = '0005_rate_limits'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'slack_posts',
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=40), nullable=False),
        sa.Column('thread_ts', sa.String(length=40), nullable=False),
        sa.Column('ts', sa.String(length=40), nullable=False),
        sa.Column('choices', sa.JSON(), nullable=False),
        sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id']),
        sa.PrimaryKeyConstraint('outbox_id'),
    )
    op.create_index('ix_slack_posts_message', 'slack_posts', ['channel', 'ts'], unique=False)
    op.create_index(op.f('ix_slack_posts_conversation_id'), 'slack_posts', ['conversation_id'], unique=False)
    op.create_table(
        'slack_cards',
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=40), nullable=False),
        sa.Column('ts', sa.String(length=40), nullable=False),
        sa.Column('shown', sa.String(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.PrimaryKeyConstraint('case_id'),
    )
    op.create_index('ix_slack_cards_message', 'slack_cards', ['channel', 'ts'], unique=False)
    op.create_index(op.f('ix_slack_cards_conversation_id'), 'slack_cards', ['conversation_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_slack_cards_conversation_id'), table_name='slack_cards')
    op.drop_index('ix_slack_cards_message', table_name='slack_cards')
    op.drop_table('slack_cards')
    op.drop_index(op.f('ix_slack_posts_conversation_id'), table_name='slack_posts')
    op.drop_index('ix_slack_posts_message', table_name='slack_posts')
    op.drop_table('slack_posts')
