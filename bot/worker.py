"""The worker loop: fire due timers, deliver the outbox, heartbeat; beside it, refresh the console report's figures.
The embedded default runs it in-process.

Graceful shutdown: SIGTERM (or SIGINT) sets the stop event; the delivery in flight finishes (it
is bounded by the HTTP timeout), rows claimed but not yet tried are released for other workers,
and the heartbeat row says the worker stopped. A worker killed with SIGKILL leaves its claims to
expire (OUTBOX_LEASE_SECONDS) and its open timer transaction to roll back.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

from bot import heartbeat
from bot.amazon.client import AmazonApi
from bot.amazon.recheck import Rechecker
from bot.app import Services
from bot.channels.console.report.refresh import refresh_if_due, run_refresher
from bot.channels.slack.target import slack_target
from bot.delivery import DeliveryTarget, target_for
from bot.outbox import Outbox, Policy
from bot.sync.watch import SyncWatch
from bot.wakeup import Waker

log = logging.getLogger("connectbot.worker")

TIMERS_PER_ROUND = 100  # so a burst of due timers does not hold the outbox back for long
HEARTBEAT_EVERY = 1.0  # seconds between heartbeat writes while busy


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Outage:
    """Database trouble seen by the loop: one plain log line when it starts and one when it ends, and a
    growing pause between rounds meanwhile (no traceback per round, no busy loop against a dead server)."""

    def __init__(self, poll_seconds: float, cap_seconds: float = 15.0) -> None:
        self.poll, self.cap = poll_seconds, cap_seconds
        self.failures = 0
        self.since = 0.0

    def failed(self, what: str, exc: DBAPIError) -> None:
        if self.failures == 0:
            self.since = time.monotonic()
            first_line = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc).strip() else ""
            log.warning("database unreachable while %s (%s: %s); will retry", what, type(exc.orig or exc).__name__,
                        first_line)
        self.failures += 1

    def ok(self) -> None:
        if self.failures:
            log.info("database reachable again after %.1f s", time.monotonic() - self.since)
        self.failures = 0

    def pause(self) -> float:
        return min(self.cap, self.poll * 2 ** min(self.failures, 16)) if self.failures else self.poll


def _guarded(what: str, work: Callable[[], int], outage: Outage | None) -> int:
    """One piece of a round: a database outage is reported once by `outage`, anything else logged; the
    round goes on and the next one retries (leases and claims bring unfinished work back)."""
    try:
        return work()
    except DBAPIError as exc:
        (outage or Outage(0)).failed(what, exc)
        return 0
    except Exception:
        log.exception("%s failed; will retry", what)
        return 0


def fire_due(services: Services, outage: Outage | None = None) -> int:
    """Fire due timers (up to a round's worth); returns how many fired."""

    def fire() -> int:
        results = services.engine.fire_due_timers(limit=TIMERS_PER_ROUND, batch=services.settings.timer_batch)
        for result in results:
            for message in result.messages:
                log.info("timer message conversation=%s audience=%s topic=%s", result.conversation,
                         message.audience.value, message.topic.value)
        return len(results)

    return _guarded("firing due timers", fire, outage)


def recheck_due(rechecks: Rechecker, outage: Outage | None = None) -> int:
    """Re-checks of connections that strategists asked for; an abandoned one comes back after its lease."""
    return _guarded("re-checking connections", lambda: len(rechecks.run_due()), outage)


def build_outbox(services: Services, worker: str, target: DeliveryTarget | None = None) -> Outbox:
    settings = services.settings
    chosen = target or target_for({"customer": settings.outbox_customer_url,
                                   "strategist": settings.outbox_strategist_url,
                                   "agent": settings.outbox_agent_url}, settings.outbox_timeout_seconds)
    if target is None:  # Slack, when configured, takes the rows of Slack customers and of the strategists
        chosen = slack_target(settings, services.db, services.engine.runner.templates, services.engine.cases, chosen)
    return Outbox(services.db, services.clock, services.engine.runner.templates, chosen,
                  Policy.from_settings(settings), worker)


def deliver_due(outbox: Outbox, stop: threading.Event, outage: Outage | None = None) -> int:
    # A row whose delivery could not be recorded keeps its lease; once it runs out the row is sent
    # again under the same idempotency key, so its person still sees it once.
    return _guarded("delivering the outbox", lambda: outbox.run_round(stop), outage)


def run_worker(services: Services, once: bool = False, stop: threading.Event | None = None,
               target: DeliveryTarget | None = None) -> None:
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    name = worker_name()
    outbox = build_outbox(services, name, target)
    log.info("worker %s started", name)
    last_beat = 0.0
    outage = Outage(services.settings.timer_poll_seconds)
    sync = SyncWatch.for_services(services)
    rechecks = Rechecker(services.engine, services.vault, AmazonApi(services.settings, services.amazon_transport))
    waker = Waker(services.db, stop)
    period = services.settings.report_refresh_seconds
    # The report's figures are refreshed beside the loop, never in it: a refresh takes seconds at scale.
    refresher = None if once else threading.Thread(
        target=run_refresher, args=(services.db, services.clock, name, period, stop), name="report-refresh",
        daemon=True)
    if refresher:
        refresher.start()
    try:
        while not stop.is_set():
            failures = outage.failures
            if time.monotonic() - last_beat >= HEARTBEAT_EVERY:
                last_beat = _beat(services, name)
            busy = fire_due(services, outage) + recheck_due(rechecks, outage) + deliver_due(outbox, stop, outage)
            sync.tick()
            if outage.failures == failures:
                outage.ok()
            if not busy:
                if once:  # everything due now is done, the report's figures too
                    _guarded("refreshing the report's figures",
                             lambda: int(refresh_if_due(services.db, services.clock, name, period) is not None),
                             outage)
                    break
                waker.wait(outage.pause())
    finally:
        stop.set()  # the refresher stops with the loop, however the loop ended
        if refresher:
            refresher.join(timeout=10)
        waker.close()
        outbox.target.close()
        try:
            heartbeat.stopped(services.db, name, services.clock.now())
        except Exception:  # noqa: BLE001  a worker stopping with its database down still stops
            log.warning("could not record that worker %s stopped", name)
        log.info("worker %s stopped", name)


def _beat(services: Services, name: str) -> float:
    try:
        heartbeat.beat(services.db, name, services.clock.now())
    except Exception:  # noqa: BLE001, S110  the rounds that follow report the database problem themselves
        pass
    return time.monotonic()
