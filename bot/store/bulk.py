"""PostgreSQL statements over many rows at once, one fixed statement each whatever the number of rows.

The rows travel as one JSON parameter and `json_to_recordset` turns it back into typed rows, so
a batch of timer turns inserts all its transcript rows in one INSERT, saves all its conversations
in one UPDATE ... FROM, and so on: one statement for the server to plan and run, not one per row
(psycopg's pipelined executemany still runs every row as a statement of its own), and one
`json.dumps` in C rather than psycopg's per-element array quoting in Python.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, Dialect, Table, text

from bot.store.prepared import Prepared


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _rows(rows: list[dict[str, Any]]) -> str:
    return json.dumps([{k: _plain(v) for k, v in row.items()} for row in rows])


def _sql_type(table: Table, key: str, dialect: Dialect) -> str:
    kind = table.c[key].type
    return "JSON" if isinstance(kind, JSON) else str(kind.compile(dialect))


class PgBulk:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._inserts: dict[tuple[str, tuple[str, ...]], Prepared] = {}
        self._mark = Prepared(text(
            "UPDATE timers SET status = v.status, fired_at = v.now FROM json_to_recordset(CAST(:rows AS JSON)) "
            "AS v(id INTEGER, status TEXT, now TIMESTAMP WITH TIME ZONE) WHERE timers.id = v.id"), dialect)
        self._cancel = Prepared(text(
            "UPDATE timers SET status = 'cancelled' FROM json_to_recordset(CAST(:rows AS JSON)) "
            "AS v(cid INTEGER, state TEXT, kind TEXT) WHERE timers.conversation_id = v.cid "
            "AND timers.status = 'pending' AND (timers.guard_state = v.state OR timers.kind = v.kind)"), dialect)
        self._save = Prepared(text(
            "UPDATE conversations SET state = v.state, slots = v.slots, version = v.version, updated_at = v.now "
            "FROM json_to_recordset(CAST(:rows AS JSON)) AS v(id INTEGER, state TEXT, slots JSON, version INTEGER, "
            "now TIMESTAMP WITH TIME ZONE) WHERE conversations.id = v.id"), dialect)

    def insert(self, conn: Connection, table: Table, rows: list[dict[str, Any]], defaults: dict[str, Any]) -> None:
        """All `rows` in one INSERT ... SELECT FROM json_to_recordset; `defaults` fill the columns rows leave out."""
        keys = tuple(rows[0]) + tuple(k for k in defaults if k not in rows[0])
        prepared = self._inserts.get((table.name, keys))
        if prepared is None:
            types = ", ".join(f'"{k}" {_sql_type(table, k, self.dialect)}' for k in keys)
            columns = ", ".join(f'"{k}"' for k in keys)
            prepared = self._inserts[(table.name, keys)] = Prepared(text(
                f"INSERT INTO {table.name} ({columns}) SELECT {columns} "
                f"FROM json_to_recordset(CAST(:rows AS JSON)) AS v({types})"), self.dialect)
        missing = {k: v for k, v in defaults.items() if k not in rows[0]}
        prepared.run(conn, {"rows": _rows([{**missing, **row} for row in rows] if missing else rows)}).close()

    def mark_timers(self, conn: Connection, statuses: list[tuple[int, str]], now: datetime) -> None:
        self._mark.run(conn, {"rows": _rows([{"id": t, "status": s, "now": now} for t, s in statuses])}).close()

    def cancel(self, conn: Connection, pairs: list[tuple[int, str | None, str | None]]) -> None:
        """(conversation id, guarded state or None, kind or None): pending timers matching either are cancelled."""
        self._cancel.run(conn, {"rows": _rows([{"cid": c, "state": s, "kind": k} for c, s, k in pairs])}).close()

    def save(self, conn: Connection, saves: list[tuple[int, str, str, int]], now: datetime) -> None:
        """(id, state, slots as JSON text, version) per conversation. The slots are pydantic's JSON already:
        spliced into each row's object as they are rather than parsed and dumped again."""
        rows = ",".join(json.dumps({"id": cid, "state": state, "version": version, "now": now.isoformat()})[:-1]
                        + f', "slots": {slots}}}' for cid, state, slots, version in saves)
        self._save.run(conn, {"rows": f"[{rows}]"}).close()
