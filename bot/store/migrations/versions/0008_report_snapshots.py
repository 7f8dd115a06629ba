"""the console report's snapshots (its figures per grouping, refreshed by the worker) and their refresh lease

Exact medians over every conversation cost about a second per view at 100,000 conversations, so the worker
computes each grouping's figures every REPORT_REFRESH_SECONDS into report_snapshots and the page reads one
row. report_refresh holds one row whose conditional UPDATE picks a single refresher among the workers.

On PostgreSQL, where the pg_trgm extension can be created (or already is), the queue's search ("any part of the
organization or customer", `lower(...) LIKE '%...%'`) gets trigram indexes, so it is an index lookup rather
than a scan of every conversation; where the role may not create extensions, the step is skipped (the search
still works, as a scan) and a line says so.

Revision ID: 0008_report_snapshots
Revises: 0007_console_indexes
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import DBAPIError

revision = '0008_report_snapshots'
down_revision = '0007_console_indexes'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
_SEARCHED = ("org", "user_id")


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
    _trigram_indexes()


def _trigram_indexes() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():  # a refusal rolls back this step only, not the migration
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    except DBAPIError as exc:
        log.warning("pg_trgm is not available (%s): the console's search stays a scan",
                    type(exc.orig or exc).__name__)
        return
    # named by the extension's own schema, which need not be on the search_path
    schema = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'").scalar_one()
    for column in _SEARCHED:
        op.execute(f'CREATE INDEX ix_conversations_{column}_trgm ON conversations '
                   f'USING gin (lower({column}) "{schema}".gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # the extension stays: other schemas may use it
        for column in _SEARCHED:
            op.execute(f"DROP INDEX IF EXISTS ix_conversations_{column}_trgm")
    op.drop_table('report_refresh')
    op.drop_table('report_snapshots')
