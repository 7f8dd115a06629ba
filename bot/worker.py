"""The worker loop: fire due timers until stopped. The embedded default runs the same loop in-process."""

from __future__ import annotations

import logging
import signal
import threading

from bot.amazon.client import AmazonApi
from bot.amazon.recheck import Rechecker
from bot.app import Services
from bot.sync.watch import SyncWatch

log = logging.getLogger("connectbot.worker")


def fire_due(services: Services) -> int:
    """Fire every due timer once; returns how many fired. Errors are logged and retried next round."""
    try:
        results = services.engine.fire_due_timers()
    except Exception:
        log.exception("firing due timers failed; will retry")
        return 0
    for result in results:
        for message in result.messages:
            log.info("timer message conversation=%s audience=%s topic=%s", result.conversation,
                     message.audience.value, message.topic.value)
    return len(results)


def recheck_due(rechecks: Rechecker) -> int:
    """Re-checks of connections that strategists asked for; errors are logged and the lease brings them back."""
    try:
        return len(rechecks.run_due())
    except Exception:
        log.exception("re-checking connections failed; will retry")
        return 0


def run_worker(services: Services, once: bool = False, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log.info("worker started")
    sync = SyncWatch.for_services(services)
    rechecks = Rechecker(services.engine, services.vault, AmazonApi(services.settings, services.amazon_transport))
    while not stop.is_set():
        fire_due(services)
        recheck_due(rechecks)
        sync.tick()
        if once:
            break
        stop.wait(services.settings.timer_poll_seconds)
    log.info("worker stopped")
