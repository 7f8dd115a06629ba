"""Waking the worker when a turn writes outbox rows: LISTEN/NOTIFY on PostgreSQL, plain polling on SQLite.

A turn that writes messages sends `NOTIFY connectbot_outbox` in its own transaction, so the
notification arrives when (and only if) the rows are committed. Workers wait on it instead of
sleeping out the poll interval; the poll interval stays as the fallback, so a lost notification
(or a dropped LISTEN connection) delays a message by at most one interval.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy import Engine as DbEngine
from sqlalchemy import text

log = logging.getLogger("connectbot.wakeup")

CHANNEL = "connectbot_outbox"
NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")


class Waker:
    def __init__(self, db: DbEngine, stop: threading.Event) -> None:
        self.db, self.stop = db, stop
        self.postgres = db.dialect.name == "postgresql"
        self._conn: psycopg.Connection[object] | None = None

    def wait(self, seconds: float) -> None:
        """Returns after `seconds`, on a notification, or soon after stop is set."""
        if not self.postgres:
            self.stop.wait(seconds)
            return
        try:
            conn = self._listening()
            for _ in conn.notifies(timeout=seconds, stop_after=1):
                break
        except (psycopg.Error, OSError) as exc:
            log.debug("LISTEN connection lost (%s); polling until it is back", type(exc).__name__)
            self.close()
            self.stop.wait(seconds)

    def _listening(self) -> psycopg.Connection[object]:
        if self._conn is None or self._conn.closed:
            url = self.db.url.set(drivername="postgresql")
            conninfo = url.render_as_string(hide_password=False)
            self._conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
            self._conn.execute(f"LISTEN {CHANNEL}")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
            self._conn = None
