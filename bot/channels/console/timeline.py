"""A conversation's journey as one list in time order, for the console's conversation page.

Pure: it takes what views.conversation read (links, connections, the transcript's inbound events, the
case, pending timers) and returns moments, each a kind and its facts. The words for every kind live in
the template (flows/templates/console/_timeline.html.j2); nothing here is shown as it is.

Kinds: link_sent, link_opened (Amazon's outcome with its code), link_unused (expired unopened),
link_late (opened after it expired), recheck, connection (its profiles and verdict), sync (a first-sync
report), timer (fired), handoff, case_opened, claim, reply, return, resolve (who and when), escalated,
rated, pending (a timer still due).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.clock import as_utc

if TYPE_CHECKING:
    from bot.channels.console.views import Conversation

CASE_ACTIONS = ("claim", "reply", "return", "resolve")
# Among moments at the same instant (one turn writes several), the order a journey goes in.
_ORDER = ("link_sent", "link_unused", "link_late", "link_opened", "recheck", "connection", "sync", "timer", "handoff",
          "case_opened", "claim", "reply", "return", "resolve", "escalated", "rated", "pending")
_RANK = {kind: rank for rank, kind in enumerate(_ORDER)}


@dataclass(frozen=True)
class Moment:
    at: datetime
    kind: str
    facts: dict[str, Any] = field(default_factory=dict)


def journey(c: Conversation, now: datetime) -> list[Moment]:
    moments: list[Moment] = []
    for a in c.attempts:
        link = {"link": a["kind"], "region": a["region"], "marketplaces": list(a.get("marketplaces") or [])}
        moments.append(Moment(a["created_at"], "link_sent", {**link, "expires_at": a["expires_at"]}))
        result: dict[str, Any] = a["result"] if isinstance(a.get("result"), dict) else {}
        if a["used_at"] is not None:
            moments.append(Moment(a["used_at"], "link_opened", {
                **link, "outcome": a["outcome"], "code": str(result.get("code") or ""),
                "found": len(result.get("found") or [])}))
        elif as_utc(a["expires_at"]) <= as_utc(now):
            moments.append(Moment(a["expires_at"], "link_unused", link))
    for x in c.connections:
        moments.append(Moment(x["created_at"], "connection", {
            "kind": x["kind"], "region": x["region"], "verdict": x["verdict"], "profiles": list(x["profiles"] or []),
            "sync_status": x["sync_status"], "sync_progress": x["sync_progress"]}))
    for m in c.transcript:
        moment = _from_event(m)
        if moment is not None:
            moments.append(moment)
    for case in c.cases:
        moments.append(Moment(case["opened_at"], "case_opened", {
            "case": case["id"], "reason": case["reason"], "routed_to": case["routed_to"] or ""}))
        if case["escalated_at"]:
            moments.append(Moment(case["escalated_at"], "escalated", {"case": case["id"]}))
        if case["rated_at"]:
            moments.append(Moment(case["rated_at"], "rated", {"case": case["id"], "rating": case["rating"] or ""}))
    for t in c.timers:
        moments.append(Moment(t["due_at"], "pending", {"timer": t["kind"]}))
    return sorted(moments, key=lambda m: (as_utc(m.at), _RANK[m.kind]))


def _from_event(m: dict[str, Any]) -> Moment | None:
    """A moment from an inbound row of the transcript: people's actions, sync reports, timers, re-checks."""
    data: dict[str, Any] = m.get("data") or {}
    kind, at, by = m["kind"], m["at"], m.get("author") or ""
    action = str(data.get("action") or "")
    if kind == "agent" and action == "handoff" or kind == "strategist" and action == "handoff":
        return Moment(at, "handoff", {"by": by, "role": kind, "note": str(data.get("note") or m.get("text") or "")})
    if kind == "strategist" and action in CASE_ACTIONS:
        return Moment(at, action, {"by": by, "to_step": str(data.get("to_step") or ""),
                                   "text": str(data.get("text") or "")})
    if kind == "sync":
        return Moment(at, "sync", {"status": str(data.get("status") or ""), "progress": data.get("progress"),
                                   "error": str(data.get("error") or "")})
    if kind == "timer" and data.get("kind"):
        return Moment(at, "timer", {"timer": str(data["kind"])})
    if kind == "amazon" and data.get("link") == "recheck":
        return Moment(at, "recheck", {"outcome": str(data.get("result") or ""), "code": str(data.get("code") or "")})
    if kind == "amazon" and data.get("result") == "link_expired":
        return Moment(at, "link_late", {"link": str(data.get("link") or ""), "region": str(data.get("region") or "")})
    return None
