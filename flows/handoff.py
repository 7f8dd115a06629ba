"""Handing a conversation to a Data Strategist, relaying while they work, and taking it back."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum

from bot.cases.hours import BusinessHours
from bot.types import Audience, InboundKind, Topic
from flows.answers import rating_in
from flows.base import (
    CancelTimers,
    Ctx,
    EscalateCase,
    Flow,
    Node,
    OpenCase,
    Option,
    RateCase,
    Say,
    Step,
    UpdateCase,
    goto,
    stay,
)
from flows.social import social_kind
from flows.states import ALL_STATES, Connect, Region, Signin, SpApi, Sync
from flows.states import Handoff as S

REASON_TOPICS: dict[str, Topic] = {
    "customer_request": Topic.HANDOFF_REQUEST,
    "agent_handoff": Topic.HANDOFF_REQUEST,
    "sync_overdue": Topic.SYNC_OVERDUE,
    "sync_failed": Topic.SYNC_OVERDUE,
    "sync_stalled": Topic.SYNC_OVERDUE,
    "amazon_error": Topic.CONNECT_AMAZON_ERROR,
    "repeated_failures": Topic.CONNECT_AMAZON_ERROR,
    "permissions_refresh_failed": Topic.PREREQ_PERMISSIONS_REFRESH,
    "account_not_listed": Topic.CONNECT_ACCOUNT_NOT_LISTED,
    "signup_email": Topic.SIGNUP_EMAIL,
    "not_understood": Topic.HANDOFF_REQUEST,
    "account_removal": Topic.ACCOUNT_REMOVAL,
    "account_login": Topic.ACCOUNT_LOGIN,
}


def handoff(ctx: Ctx, reason: str, note: str = "", asked: bool = False) -> Step:
    """Open a case for `reason` and tell the customer what happens next. Any state may call this.

    `asked`: the customer asked for a person, so the message carries that topic whatever the reason."""
    topic = Topic.HANDOFF_REQUEST if asked else REASON_TOPICS.get(reason, Topic.HANDOFF_REQUEST)
    if ctx.journey.case_status in ("open", "claimed"):
        return stay(Say("handoff/already_open", topic=topic))
    if not ctx.state.startswith("handoff."):
        ctx.journey.resume_state = ctx.state
    return goto(
        S.WAITING,
        Say("handoff/opened", topic=topic, vars={"reason": reason}),
        effects=(OpenCase(reason=reason, note=note),),
    )


# The engine arms these when a case opens, at the SLA and the SLA after it (business hours, bot/cases/).
SLA_TIMERS = ("case_reminder", "case_escalation")
_END_SLA = tuple(CancelTimers(kind) for kind in SLA_TIMERS)  # a claimed or closed case needs no reminder


def on_sla(ctx: Ctx) -> Step:
    """Nobody has claimed the case: remind the strategists after one SLA, escalate to the backup after two."""
    j = ctx.journey
    if j.case_status != "open" or j.case_id is None:
        return stay()  # claimed, returned or resolved since the timer was armed
    sla = {"case_id": f"case-{j.case_id}", "route": j.case_route or "", "backup": j.case_backup or ""}
    if ctx.data.get("kind") == "case_reminder":
        return stay(Say("handoff/sla_reminder", topic=Topic.HANDOFF_REQUEST, audience=Audience.STRATEGIST, vars=sla))
    j.case_route = j.case_backup or j.case_route
    return stay(Say("handoff/sla_escalated", topic=Topic.HANDOFF_REQUEST, audience=Audience.STRATEGIST, vars=sla),
                effects=(EscalateCase(),))


_HOW_LONG = re.compile(r"\bhow long\b|\bhow soon\b|\bwhen (?:will|do|does|can|is)\b|\bany (?:update|news)\b"
                       r"|\bstill waiting\b|\banyone\b|\bhello\?|\bare you (?:still )?there\b|\bwie lange\b"
                       r"|\bcu[aá]nto\b")
_WHAT_NEXT = re.compile(r"\bwhat (?:happens )?(?:next|now)\b|\bwhat do i do (?:now|next)\b|\bwhat should i do\b"
                        r"|\bdo i (?:have to|need to) (?:do|repeat|explain)\b")


def relay_kind(text: str) -> str:
    """What the customer's message to the waiting case asks: 'how_long' | 'next' | 'social' | 'other'."""
    low = text.lower()
    if _HOW_LONG.search(low):
        return "how_long"
    if _WHAT_NEXT.search(low):
        return "next"
    return "social" if social_kind(text) is not None else "other"


def _relay_to_strategist(ctx: Ctx) -> Step:
    """The customer's words go to the case; the bot's own reply fits what they asked."""
    text = ctx.inbound.text
    relayed = Say("handoff/relay_to_strategist", topic=Topic.HANDOFF_REQUEST, audience=Audience.STRATEGIST,
                  vars={"text": text})
    kind = relay_kind(text)
    claimed = ctx.journey.case_status == "claimed"
    if claimed and kind in ("other", "social"):
        return stay(relayed)  # a person is answering; the bot does not talk over them
    hours = BusinessHours.parse(ctx.timing.business_hours, ctx.timing.business_timezone)
    opens = None if hours.is_open(ctx.now) else hours.add(ctx.now, timedelta(0))
    return stay(relayed, Say("handoff/noted", topic=Topic.HANDOFF_REQUEST,
                             vars={"kind": kind, "claimed": claimed, "opens": opens}))


# Where a strategist may hand the conversation back to, by a short name (or a full state id).
RETURN_STEPS: dict[str, StrEnum] = {
    "start": Connect.ROUTE,
    "prerequisites": Connect.PREREQ,
    "region": Region.ASK,
    "signin": Signin.SEND,
    "verify": Signin.RECHECK,  # Amazon asked again with the stored grant (a fresh link if there is none)
    "sp_api": SpApi.REQUIRED,
    "sync": Sync.SYNCING,
}


def return_target(to_step: str, resume_state: str | None) -> StrEnum:
    """The step named by the strategist, else where the customer was when the case opened."""
    if to_step:
        return RETURN_STEPS.get(to_step) or ALL_STATES.get(to_step) or Connect.ROUTE
    resumed = ALL_STATES.get(resume_state or "")
    if resumed is None or resumed in (S.WAITING, S.RELAYING, S.RATING, S.CLOSED):
        return Connect.ROUTE
    return resumed


def on_strategist(ctx: Ctx) -> Step | None:
    """A strategist's action on the open case: claim, reply, return to the bot, resolve."""
    action = str(ctx.data.get("action", ""))
    who = str(ctx.data.get("by") or ctx.data.get("name") or "")
    if action == "claim":
        ctx.journey.case_status = "claimed"
        return goto(S.RELAYING, Say("handoff/claimed", topic=Topic.HANDOFF_REQUEST, vars={"name": who}),
                    effects=(UpdateCase("claimed", by=who), *_END_SLA))
    if action == "reply":
        if ctx.journey.case_status == "open":
            ctx.journey.case_status = "claimed"
            effects: tuple[UpdateCase | CancelTimers, ...] = (UpdateCase("claimed", by=who), *_END_SLA)
        else:
            effects = ()
        return goto(S.RELAYING, Say("handoff/relay_to_customer", topic=Topic.HANDOFF_REQUEST,
                                    vars={"text": str(ctx.data.get("text", ""))},
                                    author=who or "Data Strategist"), effects=effects)
    if action == "return":
        ctx.journey.case_status = None
        ctx.journey.case_id = None
        ctx.journey.misses = 0
        target = return_target(str(ctx.data.get("to_step") or ""), ctx.journey.resume_state)
        return goto(target, Say("handoff/returned", topic=Topic.HANDOFF_REQUEST),
                    effects=(UpdateCase("returned", by=who), *_END_SLA))
    if action == "resolve":
        ctx.journey.rating_case_id = ctx.journey.case_id
        ctx.journey.case_status = None
        ctx.journey.case_id = None
        return goto(S.RATING, Say("handoff/resolved", topic=Topic.HANDOFF_REQUEST),
                    effects=(UpdateCase("resolved", by=who), *_END_SLA))
    return None


def _rated(ctx: Ctx) -> Step:
    """The satisfaction answer goes on the case just resolved; asked once, so the question is then gone."""
    case_id, ctx.journey.rating_case_id = ctx.journey.rating_case_id, None
    effects = (RateCase(case_id, ctx.choice or ""),) if case_id is not None else ()
    return goto(S.CLOSED, Say("handoff/rated", topic=Topic.HANDOFF_REQUEST, vars={"rating": ctx.choice}),
                effects=effects)


def _rating_said(ctx: Ctx) -> Step | None:
    """'it was great, thanks': a rating in words. Anything else is a new question, handled as usual."""
    rating = rating_in(ctx.inbound.text)
    if rating is None:
        return None
    ctx.choice = rating
    return _rated(ctx)


RATINGS = (Option("Good", "good"), Option("OK", "ok"), Option("Bad", "bad"))


FLOW = Flow(
    name="handoff",
    summary="A Data Strategist takes over: case open, claimed and relaying, then back to the bot or resolved.",
    entry=S.WAITING,
    states={
        S.WAITING: Node(
            topic=Topic.HANDOFF_REQUEST,
            on_text=_relay_to_strategist,
            on_event={InboundKind.STRATEGIST: on_strategist},
            exits=(S.RELAYING, S.RATING, *RETURN_STEPS.values()),
            resumable=False,
            returns_anywhere=True,
        ),
        S.RELAYING: Node(
            topic=Topic.HANDOFF_REQUEST,
            on_text=_relay_to_strategist,
            on_event={InboundKind.STRATEGIST: on_strategist},
            exits=(S.RELAYING, S.RATING, *RETURN_STEPS.values()),
            resumable=False,
            returns_anywhere=True,
        ),
        S.RATING: Node(
            topic=Topic.HANDOFF_REQUEST,
            say="handoff/rating",
            options=RATINGS,
            on_choice=_rated,
            on_text=_rating_said,
            exits=(S.CLOSED,),
            resumable=False,
        ),
        S.CLOSED: Node(topic=Topic.HANDOFF_REQUEST, resumable=False),
    },
)
