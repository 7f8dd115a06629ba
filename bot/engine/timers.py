"""Due timers: claim and fire them, each one turn of its conversation, in batches for throughput.

With batch > 1 (the worker's TIMER_BATCH) a batch is fired with set-based statements (`_fire_set`).
A timer whose firing raises is rolled back and handed to `timer_failure` (back off, or dead with
an alert), so one broken conversation cannot hold back the timers due after it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, update
from sqlalchemy.exc import DBAPIError

from bot.engine.records import BadInput, TurnResult
from bot.engine.timer_failure import timer_failed
from bot.engine.turn import Turns
from bot.engine.writes import Writes
from bot.logs import conversation_context
from bot.store.rows import TIMERS
from bot.types import Inbound, InboundKind

log = logging.getLogger("connectbot.engine")


def fire_due_timers(turns: Turns, limit: int = 1000, batch: int = 1) -> list[TurnResult]:
    """Fire timers due by now, oldest first, each once: in its own transaction, or (batch > 1, the
    worker's throughput setting) up to `batch` per transaction, each still one turn of its conversation."""
    results: list[TurnResult] = []
    while len(results) < limit:
        if batch > 1:
            fired = _fire_batch(turns, min(batch, limit - len(results)))
        else:
            one = _fire_next_timer(turns)
            fired = [one] if one is not None else None
        if not fired:
            break
        results.extend(fired)
    return results


def next_timer_due(turns: Turns) -> datetime | None:
    with turns.db.connect() as conn:
        return turns.sql.earliest_due(conn)


class _TimerFailed(Exception):
    def __init__(self, timer: Any, error: Exception) -> None:
        super().__init__(str(error))
        self.timer, self.error = timer, error


def _fire_next_timer(turns: Turns) -> TurnResult | None:
    now = turns.clock.now()
    try:
        return _fire_claimed_timer(turns, now)
    except _TimerFailed as failed:
        # The firing's transaction rolled back; note the failure so the timer backs off (or dies)
        # instead of blocking every timer due after it.
        timer_failed(turns.db, turns.runner.templates, failed.timer, failed.error, now, turns.settings)
        return TurnResult(failed.timer.conversation_id)


def _fire_batch(turns: Turns, size: int) -> list[TurnResult] | None:
    now = turns.clock.now()
    timers: list[Any] = []
    try:
        with turns.begin() as conn:
            timers = list(conn.execute(turns.sql.due_timers, {"now": now, "n": size}).all())
            if not timers:
                return None
            return _fire_set(turns, conn, timers, now)
    except DBAPIError:
        raise
    except Exception:
        if not timers:
            raise
    # One timer spoiled the batch (it rolled back whole): fire them one by one, so only that one backs off.
    log.warning("a batch of %d timers failed; firing them one at a time", len(timers))
    results = []
    for _ in timers:
        result = _fire_next_timer(turns)
        if result is None:
            break
        results.append(result)
    return results


def _fire_set(turns: Turns, conn: Connection, claimed: list[Any], now: datetime) -> list[TurnResult]:
    """A batch of due timers as set-based statements: the conversations locked in one SELECT, the
    timers marked and their keys recorded in one statement each, every turn decided in memory, then
    one INSERT per table and one save per conversation (executemany) for the whole batch.

    Each timer is still one turn of its conversation; a conversation's second due timer waits for
    the next batch (its turn must see the state the first one left), where it is fired the same way.
    """
    first: dict[int, Any] = {}
    for timer in sorted(claimed, key=lambda t: (t.conversation_id, t.due_at, t.id)):
        first.setdefault(timer.conversation_id, timer)
    conversations = turns.hot.lock_many(conn, list(first))
    missing = [cid for cid in first if cid not in conversations]
    if missing:
        raise BadInput(f"conversation c-{missing[0]} does not exist")
    stale = {t.id for t in first.values() if t.guard_state and t.guard_state != conversations[t.conversation_id].state}
    turns.hot.mark_timers(conn, [(t.id, "cancelled" if t.id in stale else "fired") for t in first.values()], now)
    fresh = turns.hot.record_keys(conn, [(f"timer:{t.id}", t.conversation_id) for t in first.values()
                                         if t.id not in stale], now)
    writes = Writes(turns.hot, 0)
    results: list[TurnResult] = []
    saves: list[tuple[int, str, str, int]] = []
    for timer in first.values():
        conversation = conversations[timer.conversation_id]
        inbound = _inbound(timer)
        if timer.id in stale:  # the state it guarded is gone; nothing to say
            results.append(TurnResult(conversation.id))
        elif inbound.key not in fresh:
            results.append(TurnResult(conversation.id, duplicate=True))
        else:
            with conversation_context(f"c-{conversation.id}"):
                result, outcome = turns.decide(conn, conversation, inbound, None, writes, now)
            results.append(result)
            saves.append((conversation.id, outcome.state, outcome.journey.model_dump_json(), conversation.version + 1))
    writes.flush(conn)
    turns.hot.save_many(conn, saves, now)
    # Open streams of these conversations look at commit; the worker that fired them delivers next itself.
    turns.notices.written_many(conn, [r.conversation_id for r in results if r.messages])
    return results


def _inbound(timer: Any) -> Inbound:
    return Inbound(InboundKind.TIMER, key=f"timer:{timer.id}", data={"kind": timer.kind, "guard": timer.guard_state})


def _fire_claimed_timer(turns: Turns, now: datetime) -> TurnResult | None:
    timer: Any = None
    try:
        with turns.begin() as conn:
            timer = conn.execute(turns.sql.next_due_timer, {"now": now}).first()
            if timer is None:
                return None
            return _fire(turns, conn, timer, now)
    except DBAPIError:
        raise  # the database itself is in trouble: the worker retries the round
    except Exception as exc:
        if timer is None:
            raise
        raise _TimerFailed(timer, exc) from exc


def _fire(turns: Turns, conn: Connection, timer: Any, now: datetime) -> TurnResult:
    conversation = turns.lock_by_id(conn, timer.conversation_id)
    stale = bool(timer.guard_state) and timer.guard_state != conversation.state
    conn.execute(update(TIMERS).where(TIMERS.c.id == timer.id).values(
        status="cancelled" if stale else "fired", fired_at=now))
    if stale:  # the state it guarded is gone; nothing to say
        return TurnResult(conversation.id)
    return turns.run(conn, conversation, _inbound(timer), None)
