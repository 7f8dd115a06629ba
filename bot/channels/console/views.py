"""What the console's pages show, read with SQL Core on either database: the queue and one conversation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine as Db
from sqlalchemy import case, func, or_, select

from bot.clock import as_utc
from bot.store.rows import ATTEMPTS, CASES, CONNECTIONS, CONVERSATIONS, TIMERS, TRANSCRIPT
from flows.handoff import SLA_TIMERS

DUE_SOON = timedelta(hours=1)
QUEUE_LIMIT = 200


@dataclass(frozen=True)
class Filters:
    channel: str = ""
    org: str = ""
    step: str = ""
    account_type: str = ""
    q: str = ""  # organization or customer, any part


@dataclass
class QueueRow:
    conversation_id: int
    channel: str
    org: str
    customer: str
    state: str
    account_type: str
    updated_at: datetime
    case_id: int | None = None
    case_status: str = ""
    reason: str = ""
    claimed_by: str = ""
    sla_due: datetime | None = None
    urgency: str = ""  # overdue | due_soon | mine | "" (cases only)


@dataclass
class Conversation:
    id: int
    channel: str
    org: str
    customer: str
    state: str
    status: str
    account_type: str
    transcript: list[dict[str, Any]] = field(default_factory=list)
    case: dict[str, Any] | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    connections: list[dict[str, Any]] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)  # every case, oldest first (`case` is the newest)
    slots: dict[str, Any] = field(default_factory=dict)  # the journey as the engine keeps it (facts.py reads it)


def _filtered(query: Any, f: Filters) -> Any:
    c = CONVERSATIONS.c
    if f.channel:
        query = query.where(c.channel == f.channel)
    if f.org:
        query = query.where(c.org == f.org)
    if f.step:
        query = query.where(c.state.startswith(f.step, autoescape=True))
    if f.account_type:  # the journey's, kept beside slots by the database (migration 0007)
        query = query.where(c.account_type == f.account_type)
    if f.q:
        like = f"%{f.q.lower()}%"
        query = query.where(or_(func.lower(c.org).like(like), func.lower(c.user_id).like(like)))
    return query


def queue(db: Db, f: Filters, me: str, now: datetime) -> tuple[list[QueueRow], list[QueueRow]]:
    """Open cases by SLA (overdue, due soon, claimed by me, the rest), then live conversations, newest first."""
    c, k, t = CONVERSATIONS.c, CASES.c, TIMERS.c
    sla = (select(t.conversation_id, func.min(t.due_at).label("due")).where(
        t.status == "pending", t.kind.in_(SLA_TIMERS)).group_by(t.conversation_id).subquery())
    # The limit cuts the list in the order it is shown (_urgency's), so nothing urgent falls off a long queue.
    due = sla.c.due
    rank = case(((k.status == "open") & (due <= as_utc(now) + DUE_SOON), 0),
                ((k.status == "claimed") & (k.claimed_by == me), 1), else_=2)
    cases_q = _filtered(select(c.id, c.channel, c.org, c.user_id, c.state, c.account_type, c.updated_at,
                               k.id.label("case_id"), k.status.label("case_status"), k.reason, k.claimed_by, due)
                        .join(CASES, k.conversation_id == c.id).outerjoin(sla, sla.c.conversation_id == c.id)
                        .where(k.status.in_(("open", "claimed")))
                        .order_by(rank, due.asc().nulls_last(), k.id), f).limit(QUEUE_LIMIT)
    live_q = _filtered(select(c.id, c.channel, c.org, c.user_id, c.state, c.account_type, c.updated_at)
                       .where(c.status == "open", ~c.id.in_(select(k.conversation_id).where(
                           k.status.in_(("open", "claimed")))))
                       .order_by(c.updated_at.desc(), c.id.desc()), f).limit(QUEUE_LIMIT)
    with db.connect() as conn:
        case_rows = conn.execute(cases_q).all()
        live_rows = conn.execute(live_q).all()
    cases = [_row(r, case=True) for r in case_rows]
    live = [_row(r) for r in live_rows]
    for row in cases:
        row.urgency = _urgency(row, me, as_utc(now))
    order = {"overdue": 0, "due_soon": 1, "mine": 2, "": 3}
    far = datetime.max.replace(tzinfo=as_utc(now).tzinfo)
    cases.sort(key=lambda r: (order[r.urgency], as_utc(r.sla_due) if r.sla_due else far, r.case_id or 0))
    return cases, live


def _row(r: Any, case: bool = False) -> QueueRow:
    row = QueueRow(r.id, r.channel, r.org, r.user_id, r.state, str(r.account_type or ""), r.updated_at)
    if case:
        row.case_id, row.case_status, row.reason = r.case_id, r.case_status, r.reason
        row.claimed_by, row.sla_due = r.claimed_by or "", r.due
    return row


def _urgency(row: QueueRow, me: str, now: datetime) -> str:
    if row.case_status == "open" and row.sla_due is not None:
        due = as_utc(row.sla_due)
        if due <= now:
            return "overdue"
        if due - now <= DUE_SOON:
            return "due_soon"
    return "mine" if row.case_status == "claimed" and row.claimed_by == me else ""


def _speaker(direction: str, kind: str, data: dict[str, Any]) -> str:
    """customer | person (a strategist or agent, or their words relayed) | event (Amazon, sync, timers) | bot."""
    if direction == "in":
        return {"say": "customer", "click": "customer", "strategist": "person", "agent": "person"}.get(kind, "event")
    return "person" if data.get("author") else "bot"


def conversation(db: Db, conversation_id: int) -> Conversation | None:
    with db.connect() as conn:
        c = conn.execute(select(CONVERSATIONS).where(CONVERSATIONS.c.id == conversation_id)).first()
        if c is None:
            return None
        slots = c.slots if isinstance(c.slots, dict) else {}
        shown = Conversation(c.id, c.channel, c.org, c.user_id, c.state, c.status, str(slots.get("account_type") or ""),
                             slots=slots)
        for t in conn.execute(select(TRANSCRIPT).where(TRANSCRIPT.c.conversation_id == c.id)
                              .order_by(TRANSCRIPT.c.id)).all():
            data = t.data if isinstance(t.data, dict) else {}
            shown.transcript.append({"id": t.id, "at": t.at, "who": _speaker(t.direction, t.kind, data),
                                     "kind": t.kind, "text": t.text, "action": str(data.get("action") or ""),
                                     "author": str(data.get("author") or data.get("by") or ""),
                                     "data": data if t.direction == "in" else {}})
        k = CASES.c
        shown.cases = [dict(x._mapping) for x in conn.execute(
            select(k.id, k.reason, k.routed_to, k.opened_at, k.escalated_at, k.rating, k.rated_at)
            .where(k.conversation_id == c.id).order_by(k.id)).all()]
        case = conn.execute(select(CASES).where(CASES.c.conversation_id == c.id)
                            .order_by(CASES.c.id.desc()).limit(1)).first()
        if case is not None:
            shown.case = {"id": case.id, "status": case.status, "reason": case.reason, "claimed_by": case.claimed_by,
                          "opened_at": case.opened_at, "claimed_at": case.claimed_at, "closed_at": case.closed_at,
                          "packet": dict(case.packet)}
        shown.attempts = [dict(a._mapping) for a in conn.execute(
            select(ATTEMPTS.c.kind, ATTEMPTS.c.region, ATTEMPTS.c.marketplaces, ATTEMPTS.c.created_at,
                   ATTEMPTS.c.expires_at, ATTEMPTS.c.used_at, ATTEMPTS.c.outcome, ATTEMPTS.c.result)
            .where(ATTEMPTS.c.conversation_id == c.id).order_by(ATTEMPTS.c.id)).all()]
        shown.connections = [dict(x._mapping) for x in conn.execute(
            select(CONNECTIONS.c.kind, CONNECTIONS.c.region, CONNECTIONS.c.profiles, CONNECTIONS.c.verdict,
                   CONNECTIONS.c.sync_status, CONNECTIONS.c.sync_progress, CONNECTIONS.c.created_at)
            .where(CONNECTIONS.c.conversation_id == c.id).order_by(CONNECTIONS.c.id)).all()]
        tc = TIMERS.c
        shown.timers = [dict(x._mapping) for x in conn.execute(
            select(tc.kind, tc.due_at).where(tc.conversation_id == c.id, tc.status == "pending")
            .order_by(tc.due_at)).all()]
    return shown
