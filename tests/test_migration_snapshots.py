"""Migration 0008 (the report's snapshots, their refresh lease, the search's trigram indexes) goes down and up again
on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, create_engine, inspect

from bot.store.migrate import alembic_config, upgrade


def test_the_report_snapshot_tables_come_and_go_with_their_migration(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(database_url)
    try:
        assert {"report_snapshots", "report_refresh"} <= set(inspect(engine).get_table_names())
        assert _trigram_indexes(engine) == ({"ix_conversations_org_trgm", "ix_conversations_user_id_trgm"}
                                            if _trigrams_available(engine) else set())
        command.downgrade(alembic_config(database_url), "0007_console_indexes")
        tables = set(inspect(engine).get_table_names())
        assert "report_snapshots" not in tables and "report_refresh" not in tables and "conversations" in tables
        assert _trigram_indexes(engine) == set()
        upgrade(database_url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT name, holder FROM report_refresh").all() == [("report", "")]
    finally:
        engine.dispose()


def _trigrams_available(engine: Engine) -> bool:
    """PostgreSQL with pg_trgm installable (the migration then indexes the queue's search with it)."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'").scalar() == 1


def _trigram_indexes(engine: Engine) -> set[str]:
    return {str(i["name"]) for i in inspect(engine).get_indexes("conversations") if str(i["name"]).endswith("_trgm")}
