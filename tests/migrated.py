"""Migrated databases for the tests, at the cost of a copy: Alembic runs once per test process.

Running the migrations costs 50-100 ms on SQLite and 120-170 ms on PostgreSQL, paid by some 300
tests. So each test process migrates once: a SQLite file that tests copy, and, for PostgreSQL, the
statements Alembic sent, recorded and sent again into each test's empty schema (they name no schema,
so the search_path of the test's URL decides where the tables go). `build_services` still runs
Alembic afterwards: it finds the database at head, exactly as a restarted process would.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from bot.store import migrate


class MigratedTemplates:
    def __init__(self, workdir: Path, pg_template_url: str | None, pg_conninfo: str | None) -> None:
        self._sqlite = workdir / "migrated.db"
        migrate.upgrade(f"sqlite:///{self._sqlite}")
        self._pg_conninfo = pg_conninfo
        self._pg_statements = _recorded_upgrade(pg_template_url) if pg_template_url else None

    def prepare(self, url: str) -> None:
        """Bring an empty test database (a SQLite file not yet made, or a fresh schema) to head."""
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            path = Path(parsed.database or "")
            if parsed.database and not path.exists():
                shutil.copyfile(self._sqlite, path)
            return
        schema = _search_path(url)
        if self._pg_statements is None or self._pg_conninfo is None or schema is None:
            return  # not one of the fixtures' schemas: Alembic migrates it the usual way
        with psycopg.connect(self._pg_conninfo) as conn:
            if conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,)).fetchone() != (0,):
                return
            conn.execute(f'SET LOCAL search_path TO "{schema}"')
            with conn.cursor() as cursor:
                for statement, parameters in self._pg_statements:
                    cursor.execute(statement, parameters)


def _recorded_upgrade(url: str) -> list[tuple[str, Any]] | None:
    """Migrate the template schema of `url`, keeping every statement that changed it (reads are left out)."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        migrate.upgrade(url)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    schema = _search_path(url)
    writes = [(s, p) for s, p in statements if not s.lstrip().upper().startswith("SELECT")]
    if schema is None or any(schema in s for s, _ in writes):
        return None  # a statement names the schema: replaying it elsewhere would be wrong, so let Alembic run
    return writes


def _search_path(url: str) -> str | None:
    options = str(make_url(url).query.get("options", ""))
    prefix = "-csearch_path="
    return options[len(prefix):] if options.startswith(prefix) else None
