"""For platforms with no webhook: ask each unfinished connection's status URL, report what changed.

SYNC_STATUS_URL is a template such as "https://platform.example/api/connections/{connection_id}/sync"
answering {"status": "pending" | "in_progress" | "completed" | "failed", "progress": 40, "error": ""}.
A failed request or an unreadable answer is logged and asked again at the next round; nothing is lost.
"""

from __future__ import annotations

import logging

import httpx

from bot.engine import BadInput, Engine
from bot.store.rows import ConnectionSync
from bot.sync.report import ReportInvalid, SyncReport, parse_report

log = logging.getLogger("connectbot.sync.poller")
BATCH = 500  # connections asked per round


class SyncPoller:
    def __init__(self, engine: Engine, url_template: str, client: httpx.Client | None = None) -> None:
        if "{connection_id}" not in url_template:
            raise ValueError("SYNC_STATUS_URL must contain {connection_id}")
        self.engine = engine
        self.url_template = url_template
        self.client = client or httpx.Client(timeout=10.0)

    def poll_once(self) -> int:
        """Ask every connection whose first sync is not finished; returns how many reports were taken."""
        with self.engine.db.connect() as conn:
            watched = self.engine.sql.syncing_connections(conn, BATCH)
        return sum(self._poll(connection) for connection in watched)

    def _poll(self, connection: ConnectionSync) -> int:
        url = self.url_template.format(connection_id=connection.id)
        try:
            response = self.client.get(url)
            response.raise_for_status()
            payload = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("sync poll failed connection=%s: %s; asking again next round", connection.id,
                        type(exc).__name__ if not isinstance(exc, httpx.HTTPStatusError) else exc.response.status_code)
            return 0
        if isinstance(payload, dict) and payload.get("status") == "pending":
            return 0  # not started: nothing to tell anyone
        try:
            report = parse_report(payload)
        except ReportInvalid as exc:
            log.warning("sync poll connection=%s: unreadable answer: %s", connection.id, exc)
            return 0
        if (report.status, report.progress) == (connection.sync_status, connection.sync_progress):
            return 0
        return self._report(connection, report)

    def _report(self, connection: ConnectionSync, report: SyncReport) -> int:
        # The same observation of the same stored state has the same key: two workers polling at once
        # report it once.
        seen = connection.sync_updated_at.isoformat() if connection.sync_updated_at else "new"
        key = f"poll:{connection.id}:{report.status}:{report.progress}:{seen}"
        try:
            result = self.engine.report_sync(connection.id, report, key)
        except BadInput as exc:
            log.warning("sync poll ignored: %s", exc)
            return 0
        return 0 if result.duplicate else 1

    def close(self) -> None:
        self.client.close()
