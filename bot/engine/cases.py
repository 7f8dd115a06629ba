"""A turn's case effects: open a case with its packet, move it along, and the strategist's ping."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, update

from bot.amazon.marketplaces import marketplace
from bot.clock import as_utc
from bot.engine.records import CaseRow
from bot.engine.writes import Writes
from bot.runner import Outcome
from bot.store.rows import CASES, ConversationRow
from bot.types import Audience, CaseRef, Outbound, Topic
from flows.base import OpenCase, UpdateCase
from flows.handoff import REASON_TOPICS, SLA_TIMERS

if TYPE_CHECKING:
    from bot.engine.turn import Turns


def load_case(conn: Connection, case_id: int | None) -> CaseRow | None:
    if case_id is None:
        return None
    row = conn.execute(CASES.select().where(CASES.c.id == case_id)).first()
    return CaseRow(row.id, row.status, row.reason, dict(row.packet)) if row else None


def open_case(turns: Turns, conn: Connection, conversation: ConversationRow, outcome: Outcome, effect: OpenCase,
              writes: Writes, now: datetime) -> CaseRow:
    writes.flush(conn)  # the packet's transcript includes this turn's message
    packet = case_packet(turns, conn, conversation, outcome, effect, now)
    routed_to = turns.cases.route(conversation.org, packet["regions"])
    packet["routed_to"] = routed_to
    case_id = conn.execute(insert(CASES).values(
        conversation_id=conversation.id, status="open", reason=effect.reason, packet=packet, opened_at=now,
        routed_to=routed_to,
    ).returning(CASES.c.id)).scalar_one()
    j = outcome.journey
    j.case_id, j.case_status, j.case_route, j.case_backup = case_id, "open", routed_to, turns.cases.backup
    # Unclaimed: a reminder after one SLA of business hours, the backup after a second one.
    for kind, due in zip(SLA_TIMERS, (turns.cases.reminder_due(now), turns.cases.escalation_due(now)), strict=True):
        turns.arm(conn, writes, conversation.id, kind, due, "", now)
    return CaseRow(case_id, "open", effect.reason, packet)


def update_case(conn: Connection, case: CaseRow, effect: UpdateCase, now: datetime) -> CaseRow:
    values: dict[str, Any] = {"status": effect.status}
    if effect.status == "claimed":
        values.update(claimed_by=effect.by or "a Data Strategist", claimed_at=now)
    if effect.status in ("returned", "resolved"):
        values["closed_at"] = now
    conn.execute(update(CASES).where(CASES.c.id == case.id).values(**values))
    case.status = effect.status
    return case


def case_packet(turns: Turns, conn: Connection, conversation: ConversationRow, outcome: Outcome, effect: OpenCase,
                now: datetime) -> dict[str, Any]:
    """Everything a strategist needs without reading the chat."""
    j = outcome.journey
    regions = list(dict.fromkeys([*(c.region for c in j.connections), *j.pending_regions,
                                  *(str(marketplace(m).region) for m in j.marketplaces)]))
    transcript = turns.sql.transcript(conn, conversation.id)
    return {
        "customer": conversation.user_id, "org": conversation.org, "channel": conversation.channel,
        "conversation": f"c-{conversation.id}",
        "reason": effect.reason, "note": effect.note,
        "account_type": j.account_type, "agency": bool(j.agency),
        "marketplaces": j.marketplaces, "regions": regions,
        "connected_regions": j.connected_regions,
        "step": j.resume_state or conversation.state,
        "errors": [e.model_dump(mode="json") for e in j.errors],
        "tried": j.tried,
        "sync": {"status": j.sync_status, "progress": j.sync_progress},
        "started_at": _iso(j.started_at or conversation.created_at),
        "connected_at": _iso(j.connected_at),
        "opened_at": _iso(now),
        "transcript": [{"at": _iso(t.at), "who": "customer" if t.direction == "in" else t.kind,
                        "kind": t.kind, "text": t.text} for t in transcript],
    }


def ping(turns: Turns, conversation: ConversationRow, case: CaseRow, writes: Writes, now: datetime) -> Outbound:
    """The strategists' notice of a new case, with its packet."""
    text_ = turns.runner.templates.render("handoff/ping", {"case_id": f"case-{case.id}", "packet": case.packet})
    message = Outbound(audience=Audience.STRATEGIST, topic=REASON_TOPICS.get(case.reason, Topic.HANDOFF_REQUEST),
                       text=text_, case=case_ref(case), at=now)
    writes.message(conversation.id, message, now)
    return message


def case_ref(case: CaseRow) -> CaseRef:
    return CaseRef(id=f"case-{case.id}", status=case.status, reason=case.reason)


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment else None
