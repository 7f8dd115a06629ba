"""A timer whose firing raised: back off and try again, and after too many tries give up and alert.

Firing a timer is one transaction (bot/engine/timers.py), so a failure leaves nothing half-done; this
records the failure in a transaction of its own so that one broken conversation cannot hold back
the timers due after it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine as DbEngine
from sqlalchemy import update

from bot.config import Settings
from bot.logs import conversation_context
from bot.outbox import insert_alert
from bot.render import Templates
from bot.retry import backoff
from bot.store.rows import TIMERS

log = logging.getLogger("connectbot.timers")


def timer_failed(db: DbEngine, templates: Templates, timer: Any, error: Exception, now: datetime,
                 settings: Settings) -> None:
    attempts = int(timer.attempts or 0) + 1
    reason = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"[:500]
    with conversation_context(f"c-{timer.conversation_id}"), db.begin() as conn:
        if attempts >= settings.timer_max_attempts:
            conn.execute(update(TIMERS).where(TIMERS.c.id == timer.id, TIMERS.c.status == "pending").values(
                status="dead", attempts=attempts, last_error=reason))
            insert_alert(conn, templates, timer.conversation_id, now, {
                "kind": "timer", "what": timer.kind, "conversation": f"c-{timer.conversation_id}",
                "attempts": attempts, "error": reason, "timer_id": timer.id})
            log.error("timer %d (%s) failed %d times and is dead: %s; alerting the strategists", timer.id,
                      timer.kind, attempts, reason)
            return
        delay = backoff(attempts, settings.outbox_backoff_seconds, settings.outbox_backoff_cap_seconds)
        conn.execute(update(TIMERS).where(TIMERS.c.id == timer.id, TIMERS.c.status == "pending").values(
            attempts=attempts, retry_at=now + delay, last_error=reason))
        log.warning("timer %d (%s) failed (try %d of %d): %s; next try in %.0f s", timer.id, timer.kind, attempts,
                    settings.timer_max_attempts, reason, delay.total_seconds())
