"""The worker's one call for sync status: poll the platform, or run the simulated one, or nothing.

SYNC_STATUS_URL set: the poller, every SYNC_POLL_SECONDS. Otherwise the simulator when SYNC_SIMULATOR
is on (by default on SQLite, the embedded default), else nothing: the webhook alone reports.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.app import Services
from bot.clock import parse_duration
from bot.store.db import is_sqlite
from bot.sync.poller import SyncPoller
from bot.sync.simulator import SyncSimulator

log = logging.getLogger("connectbot.sync")


class SyncWatch:
    def __init__(self, round_: Callable[[], int] | None, interval: float, name: str) -> None:
        self._round = round_
        self.interval = interval
        self.name = name
        self._next = 0.0

    @classmethod
    def for_services(cls, services: Services) -> SyncWatch:
        settings = services.settings
        if settings.sync_status_url:
            poller = SyncPoller(services.engine, settings.sync_status_url)
            return cls(poller.poll_once, settings.sync_poll_seconds, "poller")
        simulate = is_sqlite(settings.database_url) if settings.sync_simulator is None else settings.sync_simulator
        if simulate:
            simulator = SyncSimulator(services.engine, parse_duration(settings.sync_simulated_duration))
            return cls(simulator.step, settings.timer_poll_seconds, "simulator")
        return cls(None, 0.0, "webhook only")

    def tick(self) -> int:
        """One round if its interval has passed; never raises (a failed round is logged and retried)."""
        now = time.monotonic()
        if self._round is None or now < self._next:
            return 0
        self._next = now + self.interval
        try:
            return self._round()
        except Exception:
            log.exception("sync %s round failed; will retry", self.name)
            return 0
