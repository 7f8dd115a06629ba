"""The conversation flows, and how topics and events reach them.

`FLOWS` lists every flow; `ENTRY_POINTS` says where a topic starts a flow; `JUMPS` are the topics
that change course even in the middle of another question; `ANSWERS` are topics answered from
live data instead of an article; `EVENTS` handle inbound events no state claims.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum

from bot.types import InboundKind, Topic
from flows import connect, handoff, home, prerequisites, region, signin, signup, sp_api, sync
from flows.answers import asks_for_removal
from flows.base import Ctx, Flow, Handler, Say, Step
from flows.facts import region_fact, sp_api_fact
from flows.journey import Journey
from flows.states import Connect, Home, Prereq, Region, Signin, Signup

FLOWS: tuple[Flow, ...] = (
    home.FLOW, connect.FLOW, prerequisites.FLOW, signup.FLOW, region.FLOW,
    signin.FLOW, sp_api.FLOW, sync.FLOW, handoff.FLOW,
)

START = Home.IDLE

ENTRY_POINTS: Mapping[Topic, StrEnum] = {
    Topic.CONNECT_START: Connect.ROUTE,
    Topic.CONNECT_REQUIREMENTS: Connect.ROUTE,
    Topic.CONNECT_ACCOUNT_TYPE: Connect.ROUTE,
    Topic.CONNECT_AGENCY: Connect.ROUTE,
    Topic.CONNECT_REGION: Connect.ROUTE,
    Topic.CONNECT_ADD_ACCOUNT: Signup.ADD_ACCOUNT,
    Topic.PREREQ_ADVERTISING: Prereq.NEVER_ADVERTISED,
    Topic.PREREQ_PERMISSIONS: Prereq.NEED_PERMISSION,
    Topic.PREREQ_PERMISSIONS_REFRESH: Prereq.REFRESH,
    Topic.SIGNUP_EMAIL: Signup.EMAIL,
    Topic.SIGNUP_ORGANIZATION: Signup.ORGANIZATION,
}

def person_needed_for(codes: tuple[str, ...]) -> bool:
    """Error codes only a person can act on: Amazon's MD codes point at the app's own setup."""
    return any(code.upper().startswith("MD") for code in codes)


_ANOTHER_CONNECTION = frozenset({Topic.CONNECT_START, Topic.CONNECT_ADD_ACCOUNT, Topic.CONNECT_REGION,
                                 Topic.CONNECT_ACCOUNT_TYPE})


def entry_for(topic: Topic, journey: Journey, named: tuple[str, ...] = ()) -> StrEnum | None:
    """Where a topic starts a flow. A customer already connected who names new marketplaces, or asks to
    connect again, starts another connection instead of being walked through the finished one."""
    connected = {m for c in journey.connections for m in c.marketplaces}
    new = [m for m in named if m not in connected]
    if journey.connections and topic in _ANOTHER_CONNECTION and (new or topic != Topic.CONNECT_ACCOUNT_TYPE):
        journey.marketplaces, journey.pending_regions = new, []
        if journey.sp_api == "done":
            journey.sp_api = None  # a new region needs its own SP-API consent; done regions are remembered
        return Signin.SEND if new else Region.ASK
    return ENTRY_POINTS.get(topic)


# Topics that change course even while another question is open: they say the customer is stuck
# somewhere else than the bot thought.
JUMPS: frozenset[Topic] = frozenset({
    Topic.PREREQ_ADVERTISING, Topic.PREREQ_PERMISSIONS, Topic.PREREQ_PERMISSIONS_REFRESH,
    Topic.SIGNUP_EMAIL,
})

# Topics whose answer is kept before their step even when that step carries the same topic: the
# step asks (Vendor or Seller? which marketplaces?), the answer explains.
EXPLAIN_FIRST: frozenset[Topic] = frozenset({Topic.CONNECT_ACCOUNT_TYPE, Topic.CONNECT_REGION, Topic.CONNECT_SP_API})

# Questions answered from what the bot knows (None: it does not know enough, the article answers).
ANSWERS: Mapping[Topic, Callable[[Ctx], Say | None]] = {
    Topic.SYNC_STATUS: sync.status_answer,
    Topic.CONNECT_REGION: region_fact,
    Topic.CONNECT_SP_API: sp_api_fact,
}


def _sync_overdue(ctx: Ctx) -> Step | None:
    """'Still no data after two days': a person, unless the bot knows the 48 hours are not over."""
    j = ctx.journey
    overdue = j.connected_at is None or ctx.now - j.connected_at >= sync.WINDOW
    return handoff.handoff(ctx, "sync_overdue") if overdue and j.sync_status != "completed" else None


def _removal(ctx: Ctx) -> Step | None:
    """Removing or cancelling is always done by a person, once the customer asks for it."""
    return handoff.handoff(ctx, "account_removal") if asks_for_removal(ctx.inbound.text) else None


def _agency(ctx: Ctx) -> Step | None:
    ctx.journey.agency = True
    return None


# What a topic does besides its article, when it comes up outside a question (None: carry on).
TOPIC_ACTIONS: Mapping[Topic, Handler] = {
    Topic.SYNC_OVERDUE: _sync_overdue,
    Topic.ACCOUNT_REMOVAL: _removal,
    Topic.CONNECT_AGENCY: _agency,
}


def _on_amazon(ctx: Ctx) -> Step | None:
    """A sign-in finished while the conversation is elsewhere (a case open, an aside): act on it all the same."""
    if ctx.data.get("link") == "spapi":
        return sp_api.on_consent(ctx)
    return signin.on_amazon(ctx)


def _on_timer(ctx: Ctx) -> Step | None:
    kind = ctx.data.get("kind")
    if kind == "sync_overdue":
        return sync.on_overdue(ctx)
    if kind == "sync_stalled":
        return sync.on_stalled(ctx)
    if kind in handoff.SLA_TIMERS:
        return handoff.on_sla(ctx)
    return None


def _on_agent(ctx: Ctx) -> Step | None:
    if ctx.data.get("action") == "handoff":
        ctx.journey.note_tried("support agent handed off")
        return handoff.handoff(ctx, "agent_handoff", note=str(ctx.data.get("note", "")))
    return None


def _on_strategist(ctx: Ctx) -> Step | None:
    return handoff.on_strategist(ctx)


EVENTS: Mapping[InboundKind, Handler] = {
    InboundKind.SYNC: sync.on_sync,
    InboundKind.AMAZON: _on_amazon,
    InboundKind.TIMER: _on_timer,
    InboundKind.AGENT: _on_agent,
    InboundKind.STRATEGIST: _on_strategist,
}

__all__ = ["ANSWERS", "ENTRY_POINTS", "EVENTS", "EXPLAIN_FIRST", "FLOWS",
           "JUMPS", "START", "TOPIC_ACTIONS", "entry_for", "person_needed_for"]
