"""the console's report and queue over many conversations: the journey's report fields as generated columns, and indexes

The report reads three of the journey's fields for every conversation (account type, whether and when the
prerequisites passed); parsing `slots` for each row costs about 6 microseconds per field on PostgreSQL
(half a second per field at 100,000 conversations), so the database keeps them beside it: STORED generated
columns on PostgreSQL (computed once per write), VIRTUAL ones on SQLite (computed when read; nothing changes
there but the names). The queue lists live conversations newest first and open cases by status.

Revision ID: 0007_console_indexes
Revises: 0006_slack
"""

from __future__ import annotations

from alembic import op

revision = '0007_console_indexes'
down_revision = '0006_slack'
branch_labels = None
depends_on = None

# (column, type, PostgreSQL expression, SQLite expression)
_GENERATED = (
    ("account_type", "VARCHAR(16)", "(slots ->> 'account_type')", "json_extract(slots, '$.account_type')"),
    ("prerequisites_ok", "BOOLEAN", "((slots ->> 'prerequisites_ok'))::boolean",
     "json_extract(slots, '$.prerequisites_ok')"),
    ("prerequisites_at", "VARCHAR(40)", "(slots ->> 'prerequisites_at')", "json_extract(slots, '$.prerequisites_at')"),
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, kind, pg_expression, sqlite_expression in _GENERATED:
        if postgres:
            op.execute(f"ALTER TABLE conversations ADD COLUMN {name} {kind} GENERATED ALWAYS AS ({pg_expression}) STORED")
        else:
            op.execute(f"ALTER TABLE conversations ADD COLUMN {name} {kind} GENERATED ALWAYS AS ({sqlite_expression}) "
                       "VIRTUAL")
    op.create_index('ix_conversations_live', 'conversations', ['status', 'updated_at', 'id'], unique=False)
    op.create_index('ix_cases_status', 'cases', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_status', table_name='cases')
    op.drop_index('ix_conversations_live', table_name='conversations')
    for name, *_ in reversed(_GENERATED):
        op.drop_column('conversations', name)
