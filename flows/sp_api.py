"""The Selling Partner API step: required for Sellers, optional for Vendors (Sales & Traffic only)."""

from __future__ import annotations

import re

from bot.types import InboundKind, Topic
from flows.answers import wants_again
from flows.base import Ctx, Flow, Node, Option, Say, Step, goto, stay
from flows.handoff import handoff
from flows.signin import needs_person, said_by_amazon
from flows.states import Connect, Handoff
from flows.states import SpApi as S


def on_consent(ctx: Ctx) -> Step:
    """Amazon's answer to the Seller Central or Vendor Central consent link."""
    j = ctx.journey
    result = str(ctx.data.get("result", "error"))
    code = str(ctx.data.get("code", "") or result)
    if result == "link_expired":
        if j.sp_api == "done" and ctx.state != S.REQUIRED:
            return stay()
        return goto(S.REQUIRED, Say("sp_api/link_expired", topic=Topic.CONNECT_SP_API))
    if result == "ok":
        region = str(ctx.data.get("region", ""))
        if region and region not in j.sp_api_regions:
            j.sp_api_regions.append(region)
        j.note_tried(f"SP-API consent granted ({region})")
        if not j.sp_api_missing:
            j.sp_api = "done"
        more = j.sp_api_missing[0].region if j.sp_api_missing else ""
        return goto(Connect.ROUTE, Say("sp_api/done", topic=Topic.CONNECT_SP_API, vars={"next_region": more}))
    j.note_error(code, ctx.state, ctx.now, detail=f"SP-API consent: {result}")
    j.last_amazon = {"region": str(ctx.data.get("region", "")), "result": result, "code": str(ctx.data.get("code", "")),
                     "found_types": [], "found_regions": []}
    if needs_person(result, code):
        return said_by_amazon(ctx, result, code)
    if result == "invalid_access" or "invalid access" in code.lower():
        return goto(S.NOT_PRIMARY)
    j.failures += 1
    if j.failures >= 3:
        return handoff(ctx, "repeated_failures")
    return goto(S.CANCELLED)


def _retry_if_asked(ctx: Ctx) -> Step | None:
    return goto(S.REQUIRED) if wants_again(ctx) else None


# "the Seller Central page says I don't have permission", "I'm not the primary user", "it says Invalid Access":
# Amazon's primary-user rule, told in the customer's words instead of by the callback.
_NOT_PRIMARY_RE = re.compile(
    r"\bnot (?:the |our |a )?(?:primary|main|account owner|owner)\b|\binvalid access\b"
    r"|\b(?:don'?t|do not|doesn'?t|does not|didn'?t) have (?:the )?(?:permissions?|access|rights)\b"
    r"|\bno (?:permissions?|rights|access) to (?:view|see|open|approve|authori[sz]e)\b"
    r"|\bnot (?:allowed|authori[sz]ed)\b"
)


def _reported_not_primary(ctx: Ctx) -> Step | None:
    """At the consent link: the customer reports the primary-user rule themselves (the callback may never come)."""
    if _NOT_PRIMARY_RE.search(ctx.inbound.text.lower()):
        ctx.journey.note_tried("customer reported: this login cannot approve the SP-API step (primary-user rule)")
        return goto(S.NOT_PRIMARY)
    return None


def _skip(ctx: Ctx) -> Step:
    ctx.journey.sp_api = "skipped"
    return goto(Connect.ROUTE, Say("sp_api/skipped"))


_NEW_LINK = Option("Send a new link", "yes", S.REQUIRED)
_PERSON = Option("Talk to a person", "person")

FLOW = Flow(
    name="sp_api",
    summary="SP-API consent in Seller Central or Vendor Central: required for Sellers, optional for Vendors.",
    entry=S.REQUIRED,
    states={
        S.REQUIRED: Node(
            topic=Topic.CONNECT_SP_API,
            say="sp_api/required",
            say_again="sp_api/still_open",
            link="spapi",
            on_event={InboundKind.AMAZON: on_consent},
            on_text=_reported_not_primary,
            exits=(Connect.ROUTE, S.REQUIRED, S.NOT_PRIMARY, S.CANCELLED, Handoff.WAITING),
        ),
        S.OFFER: Node(
            topic=Topic.CONNECT_SP_API,
            say="sp_api/offer",
            options=(Option("Yes, connect it", "yes", S.REQUIRED), Option("Skip for now", "no")),
            reads="yes_no",
            on_choice=_skip,
            exits=(Connect.ROUTE,),
        ),
        S.NOT_PRIMARY: Node(
            topic=Topic.CONNECT_SP_API,
            say="sp_api/not_primary",
            on_text=_retry_if_asked,
            options=(_NEW_LINK, _PERSON),
            reads="yes_no",
        ),
        S.CANCELLED: Node(
            topic=Topic.CONNECT_SP_API,
            say="sp_api/cancelled",
            on_text=_retry_if_asked,
            options=(_NEW_LINK, _PERSON),
            reads="yes_no",
        ),
    },
)
