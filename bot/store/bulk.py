"""PostgreSQL statements over many rows at once, one fixed statement each whatever the number of rows.

Each column travels as one array parameter and `unnest` turns the arrays back into rows, so a
batch of timer turns inserts all its transcript rows in one INSERT, saves all its conversations in
one UPDATE ... FROM, and so on: one statement for the server to plan and run, not one per row
(psycopg's pipelined executemany still executes every row as a statement of its own).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, Dialect, Table, text

from bot.store.prepared import Prepared
from bot.store.rows import CONVERSATIONS, TIMERS


def _array_type(column: Any, dialect: Dialect) -> str:
    if isinstance(column.type, JSON):
        return "TEXT[]"  # sent as text, cast to JSON per row
    return f"{column.type.compile(dialect=dialect).split('(')[0]}[]"


class PgBulk:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._inserts: dict[tuple[str, tuple[str, ...]], tuple[Prepared, tuple[Any, ...]]] = {}
        self._mark = Prepared(text(
            "UPDATE timers SET status = v.status, fired_at = :now FROM unnest(CAST(:ids AS INTEGER[]), "
            "CAST(:statuses AS TEXT[])) AS v(id, status) WHERE timers.id = v.id"), dialect)
        self._cancel = Prepared(text(
            "UPDATE timers SET status = 'cancelled' FROM unnest(CAST(:cids AS INTEGER[]), CAST(:states AS TEXT[]), "
            "CAST(:kinds AS TEXT[])) AS v(cid, state, kind) WHERE timers.conversation_id = v.cid "
            "AND timers.status = 'pending' AND (timers.guard_state = v.state OR timers.kind = v.kind)"), dialect)
        self._save = Prepared(text(
            "UPDATE conversations SET state = v.state, slots = CAST(v.slots AS JSON), version = v.version, "
            "updated_at = :now FROM unnest(CAST(:ids AS INTEGER[]), CAST(:states AS TEXT[]), "
            "CAST(:slots AS TEXT[]), CAST(:versions AS INTEGER[])) AS v(id, state, slots, version) "
            "WHERE conversations.id = v.id"), dialect)
        assert TIMERS.name == "timers" and CONVERSATIONS.name == "conversations"

    def insert(self, conn: Connection, table: Table, rows: list[dict[str, Any]], defaults: dict[str, Any]) -> None:
        """All `rows` in one INSERT ... SELECT FROM unnest(...); `defaults` fill the columns rows leave out."""
        keys = tuple(rows[0]) + tuple(k for k in defaults if k not in rows[0])
        found = self._inserts.get((table.name, keys))
        if found is None:
            columns = tuple(table.c[k] for k in keys)
            picks = ", ".join(f"CAST(c{i} AS JSON)" if isinstance(c.type, JSON) else f"c{i}"
                              for i, c in enumerate(columns))
            arrays = ", ".join(f"CAST(:a{i} AS {_array_type(c, self.dialect)})" for i, c in enumerate(columns))
            names = ", ".join(f"c{i}" for i in range(len(columns)))
            sql = (f"INSERT INTO {table.name} ({', '.join(keys)}) SELECT {picks} "
                   f"FROM unnest({arrays}) AS v({names})")
            found = self._inserts[(table.name, keys)] = (Prepared(text(sql), self.dialect), columns)
        prepared, columns = found
        values: dict[str, Any] = {}
        for i, column in enumerate(columns):
            raw = [row.get(column.key, defaults.get(column.key)) for row in rows]
            values[f"a{i}"] = [json.dumps(v) for v in raw] if isinstance(column.type, JSON) else raw
        prepared.run(conn, values).close()

    def mark_timers(self, conn: Connection, statuses: list[tuple[int, str]], now: datetime) -> None:
        self._mark.run(conn, {"ids": [t for t, _ in statuses], "statuses": [s for _, s in statuses],
                              "now": now}).close()

    def cancel(self, conn: Connection, pairs: list[tuple[int, str | None, str | None]]) -> None:
        """(conversation id, guarded state or None, kind or None): pending timers matching either are cancelled."""
        self._cancel.run(conn, {"cids": [p[0] for p in pairs], "states": [p[1] for p in pairs],
                                "kinds": [p[2] for p in pairs]}).close()

    def save(self, conn: Connection, saves: list[tuple[int, str, str, int]], now: datetime) -> None:
        self._save.run(conn, {"ids": [s[0] for s in saves], "states": [s[1] for s in saves],
                              "slots": [s[2] for s in saves], "versions": [s[3] for s in saves],
                              "now": now}).close()
