"""the console report's snapshots (its figures per grouping, refreshed by the worker) and their refresh lease

Exact medians over every conversation cost about a second per view at 100,000 conversations, so the worker
computes each grouping's figures every REPORT_REFRESH_SECONDS into report_snapshots and the page reads one
row. report_refresh holds one row whose conditional UPDATE picks a single refresher among the workers.

Revision ID: 0008_report_snapshots
Revises: 0007_console_indexes
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0008_report_snapshots'
down_revision = '0007_console_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'report_snapshots',
        sa.Column('grouping', sa.String(length=16), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('took_ms', sa.Float(), nullable=False),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('grouping'),
    )
    refresh = op.create_table(
        'report_refresh',
        sa.Column('name', sa.String(length=16), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('holder', sa.String(length=100), nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )
    # due at once: the first worker to look computes the first snapshot
    op.bulk_insert(refresh, [{"name": "report", "due_at": datetime(2000, 1, 1, tzinfo=UTC), "holder": "",
                              "lease_until": None}])


def downgrade() -> None:
    op.drop_table('report_refresh')
    op.drop_table('report_snapshots')
