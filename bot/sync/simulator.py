"""The embedded default's platform: each unfinished connection's first sync moves over a set duration.

It reports through `Engine.report_sync`, the same path the webhook and the poller take, in steps of
10% so a newcomer running `make run` sees the sync start, pass halfway and complete.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.engine import BadInput, Engine
from bot.store.rows import ConnectionSync
from bot.sync.report import SyncReport

log = logging.getLogger("connectbot.sync.simulator")
BATCH = 500
STEP = 10  # percent per report


class SyncSimulator:
    def __init__(self, engine: Engine, duration: timedelta) -> None:
        self.engine = engine
        self.duration = duration

    def expected(self, connection: ConnectionSync) -> SyncReport:
        """Where the simulated platform is with this connection now."""
        share = (self.engine.clock.now() - connection.created_at) / self.duration
        if share >= 1:
            return SyncReport("completed", 100)
        return SyncReport("in_progress", max(0, int(share * 100) // STEP * STEP))

    def step(self) -> int:
        """Report every connection whose simulated sync has moved; returns how many reports were taken."""
        with self.engine.db.connect() as conn:
            watched = self.engine.sql.syncing_connections(conn, BATCH)
        taken = 0
        for connection in watched:
            report = self.expected(connection)
            if (report.status, report.progress) == (connection.sync_status, connection.sync_progress):
                continue
            try:
                result = self.engine.report_sync(connection.id, report,
                                                 f"sim:{connection.id}:{report.status}:{report.progress}")
            except BadInput as exc:
                log.warning("simulated sync ignored: %s", exc)
                continue
            taken += 0 if result.duplicate else 1
        return taken
