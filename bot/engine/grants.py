"""Re-checks with a stored Amazon grant: take the due ones, read the grant, record what Amazon said."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select, update

from bot.engine.records import RECHECK_DUE, RECHECK_LEASE, RECHECKING, BadInput, StoredGrant, TurnResult
from bot.engine.turn import Turns
from bot.store.rows import CONNECTIONS, TIMERS
from bot.types import Inbound, InboundKind
from flows.signin import RECHECK_TIMER


def due_rechecks(turns: Turns, limit: int = 10) -> list[tuple[int, int]]:
    """Take due re-checks for this worker: (timer id, conversation id). Abandoned ones come back after a lease."""
    now = turns.clock.now()
    t = TIMERS.c
    query = select(t.id, t.conversation_id).where(t.kind == RECHECK_TIMER, t.due_at <= now, or_(
        t.status == RECHECK_DUE, and_(t.status == RECHECKING, t.fired_at < now - RECHECK_LEASE))).order_by(
        t.due_at).limit(limit)
    with turns.begin() as conn:
        taken = list(conn.execute(query.with_for_update(skip_locked=True) if turns.postgres else query))
        if taken:
            conn.execute(update(TIMERS).where(t.id.in_([row.id for row in taken])).values(
                status=RECHECKING, fired_at=now))
    return [(row.id, row.conversation_id) for row in taken]


def recheck_waiting(turns: Turns) -> bool:
    with turns.db.connect() as conn:
        return conn.execute(select(TIMERS.c.id).where(
            TIMERS.c.status == RECHECK_DUE, TIMERS.c.due_at <= turns.clock.now()).limit(1)).first() is not None


def grant_of(turns: Turns, conversation_id: int) -> StoredGrant | None:
    with turns.db.connect() as conn:
        c = CONNECTIONS.c
        row = conn.execute(select(CONNECTIONS).where(c.conversation_id == conversation_id, c.kind == "ads")
                           .order_by(c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return StoredGrant(row.id, row.region, row.account_type, list(row.marketplaces), row.refresh_token)


def complete_recheck(turns: Turns, timer_id: int, connection_id: int | None, verdict: dict[str, Any]) -> TurnResult:
    """What Amazon said on a re-check: the connection record and the conversation's turn, together."""
    with turns.begin() as conn:
        timer = conn.execute(select(TIMERS).where(TIMERS.c.id == timer_id)).first()
        if timer is None or timer.status != RECHECKING:
            raise BadInput(f"re-check {timer_id} is not running")
        conversation = turns.lock_by_id(conn, timer.conversation_id)
        stale = bool(timer.guard_state) and timer.guard_state != conversation.state
        conn.execute(update(TIMERS).where(TIMERS.c.id == timer_id).values(
            status="cancelled" if stale else "fired", fired_at=turns.clock.now()))
        if connection_id is not None and "found" in verdict:
            conn.execute(update(CONNECTIONS).where(CONNECTIONS.c.id == connection_id).values(
                profiles=list(verdict["found"]), verdict=str(verdict.get("result", ""))))
        if stale:  # the conversation moved on while Amazon was asked: nothing to say
            return TurnResult(conversation.id)
        data = {**verdict, "link": "recheck", **({"connection_id": connection_id} if connection_id else {})}
        return turns.run(conn, conversation, Inbound(InboundKind.AMAZON, f"recheck:{timer_id}", data=data), None)
