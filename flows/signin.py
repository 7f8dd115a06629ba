"""Sign in with Amazon for one region, then act on what Amazon returned.

The callback checks the profiles Amazon lists and hands this flow a verdict (bot/amazon/verify.py):
ok, no profiles, the other account type, another region, Viewer-only, or an error code.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.amazon.marketplaces import REGION_NAMES, regions_of
from bot.amazon.marketplaces import Region as AdsRegion
from bot.types import InboundKind, Topic
from flows.answers import asks_for_reminder, wants_again
from flows.base import Ctx, Flow, Node, Option, Say, StartTimer, Step, goto, stay
from flows.handoff import handoff
from flows.journey import ConnectionFound
from flows.region import plan_regions
from flows.states import Connect, Handoff, Prereq, Region
from flows.states import Signin as S

SYNC_WINDOW = timedelta(hours=48)
RECHECK_TIMER = "recheck"  # run by bot/amazon/recheck.py (it calls Amazon), not fired as a plain timer
MAX_FAILURES = 3  # failed sign-ins in a row before a person takes over
# Errors that say our app's registration with Amazon is wrong, not the customer's doing: a person fixes those.
SETUP_ERRORS = frozenset({"invalid_client", "unauthorized_client", "ads_api_unauthorized", "invalid_request",
                          "unsupported_response_type"})


def needs_person(result: str, code: str) -> bool:
    """Amazon errors a retry cannot fix: MD codes, an unapproved scope, our own app's setup."""
    return result == "invalid_scope" or code.upper().startswith("MD") or code.lower() in SETUP_ERRORS


def said_by_amazon(ctx: Ctx, result: str, code: str) -> Step:
    """An error only a person can fix: what Amazon said, in plain words with its code, then the handoff."""
    step = handoff(ctx, "amazon_error")
    said = Say("signin/amazon_said", topic=Topic.CONNECT_AMAZON_ERROR, vars={"code": code, "result": result})
    return Step(to=step.to, say=(said, *step.say), effects=step.effects)


def region_name(code: str) -> str:
    return REGION_NAMES[AdsRegion(code)]


def _verdict_vars(ctx: Ctx) -> dict[str, Any]:
    data = ctx.data
    return {
        "region": region_name(str(data.get("region", "NA"))),
        "code": str(data.get("code", "")),
        "found_types": list(data.get("found_types", [])),
        "found_regions": [region_name(r) for r in data.get("found_regions", [])],
        "matched": list(data.get("matched", [])),
        "missing": list(data.get("missing", [])),
        "expected_type": ctx.journey.account_type or "",
    }


def on_amazon(ctx: Ctx) -> Step:
    """Amazon's answer to the sign-in link, already checked by the callback."""
    j = ctx.journey
    result = str(ctx.data.get("result", "error"))
    code = str(ctx.data.get("code", "") or result)
    region = str(ctx.data.get("region", ""))
    grant = ctx.data.get("connection_id")
    if isinstance(grant, int) and ctx.data.get("link") != "spapi":
        j.last_grant_id = grant
    if result == "grant_revoked":  # a re-check found the stored access withdrawn: sign in again
        j.last_grant_id = None
        j.note_tried("re-check: Amazon no longer accepts the stored grant")
        return goto(S.SEND, Say("signin/grant_revoked", topic=Topic.CONNECT_START))
    if result == "link_expired":  # opened too late: not a failure, just a fresh link (unless already done)
        if region in j.connected_regions and ctx.state != S.SEND:
            return stay()
        return goto(S.SEND, Say("signin/link_expired", topic=Topic.CONNECT_START))
    says = _verdict_vars(ctx)
    j.last_amazon = {"region": region, "result": result, "code": str(ctx.data.get("code", "")),
                     "found_types": says["found_types"], "found_regions": list(ctx.data.get("found_regions", []))}
    if result == "ok":
        j.failures = 0
        if region not in j.connected_regions:
            j.connections.append(ConnectionFound(region=region, marketplaces=says["matched"],
                                                 account_types=says["found_types"], at=ctx.now,
                                                 connection_id=grant if isinstance(grant, int) else None))
        j.pending_regions = [r for r in j.pending_regions if r != region]
        j.note_tried(f"{region} sign-in succeeded")
        effects: tuple[StartTimer, ...] = ()
        if j.connected_at is None:
            j.connected_at = ctx.now
            effects = (StartTimer("sync_overdue", SYNC_WINDOW, guarded=False),)
        more = region_name(j.pending_regions[0]) if j.pending_regions else ""
        connected = Say("signin/connected", topic=Topic.CONNECT_START, vars={**says, "next_region": more})
        return goto(Connect.ROUTE, connected, effects=effects)

    j.note_error(code, ctx.state, ctx.now, detail=f"{region} sign-in: {result}")
    j.failures += 1
    if needs_person(result, code):
        return said_by_amazon(ctx, result, code)
    if j.failures >= MAX_FAILURES:
        return handoff(ctx, "repeated_failures")
    target = {
        "cancelled": S.CANCELLED,
        "expired_code": S.EXPIRED,
        "no_profiles": S.NO_PROFILES,
        "wrong_type": S.WRONG_TYPE,
        "other_region": S.OTHER_REGION,
        "viewer_only": S.VIEWER_ONLY,
    }.get(result, S.RETRY)
    return goto(target)




def _ensure_region(ctx: Ctx) -> Step | None:
    """A link needs a region: the next one not connected, or all again when a strategist asks to re-check."""
    j = ctx.journey
    if j.pending_regions:
        return None
    regions = [str(r) for r in regions_of(j.marketplaces)]
    j.pending_regions = [r for r in regions if r not in j.connected_regions] or regions
    return None if j.pending_regions else goto(Region.ASK)


def _send_link(ctx: Ctx) -> Step | None:
    """Each link sent arms one nudge; a newer link replaces the older one's (one pending timer per kind)."""
    routed = _ensure_region(ctx)
    if routed is not None:
        return routed
    return stay(effects=(StartTimer("link_nudge", ctx.timing.link_nudge),))


def _recheck(ctx: Ctx) -> Step | None:
    """Back from a strategist to verify a fix: ask Amazon again with the access already granted.

    No stored grant (the customer never finished a sign-in): a fresh link instead.
    """
    if ctx.journey.last_grant_id is None:
        return goto(S.SEND)
    ctx.journey.note_tried("re-checked the connection with the access already granted")
    return stay(Say("signin/rechecking", topic=Topic.CONNECT_START),
                effects=(StartTimer(RECHECK_TIMER, timedelta(0)),))


def _nudge(ctx: Ctx) -> Step | None:
    """The link has sat unused: one reminder, with a fresh link one click away (links expire)."""
    if ctx.data.get("kind") != "link_nudge":
        return None
    ctx.journey.note_tried("nudged about an unused sign-in link")
    return goto(S.UNUSED)


def _retry_if_asked(ctx: Ctx) -> Step | None:
    return goto(S.SEND) if wants_again(ctx) else None


def _corrected_type(ctx: Ctx) -> Step | None:
    """'oh we're actually seller': the customer corrects the account type."""
    said = ctx.heard.slots.account_type if ctx.heard else None
    if said and said != ctx.journey.account_type:
        ctx.journey.account_type = said
        ctx.journey.note_tried(f"switched account type to {said}")
        return goto(S.SEND)
    return _retry_if_asked(ctx)


def _corrected_marketplaces(ctx: Ctx) -> Step | None:
    """'we are in the US actually': the customer corrects the marketplaces; new regions, new links."""
    named = list(ctx.heard.slots.marketplaces) if ctx.heard else []
    if "?" in ctx.inbound.text:
        return None  # "which region is amazon.de in?" is a question: answered, then the step asked again
    if not named:
        return _retry_if_asked(ctx)
    ctx.journey.marketplaces, ctx.journey.pending_regions = [], []
    return plan_regions(ctx, named)


def _after_no_profiles(ctx: Ctx) -> Step | None:
    """At "Amazon lists no accounts": 'yes please remind me' (after hearing a new campaign takes up to a day)
    sets the campaign reminder; new marketplaces or 'send it again' send a new link."""
    if asks_for_reminder(ctx.inbound.text):
        ctx.journey.missing, ctx.journey.prerequisites_ok = "advertising", False
        return goto(Prereq.REMINDER_SET)
    return _corrected_marketplaces(ctx)


def _switch_type(ctx: Ctx) -> Step:
    current = ctx.journey.account_type
    ctx.journey.account_type = "seller" if current == "vendor" else "vendor"
    ctx.journey.note_tried(f"switched account type to {ctx.journey.account_type}")
    return goto(S.SEND)


def _refresh_or_handoff(ctx: Ctx) -> Step:
    if ctx.journey.refresh_done:
        return handoff(ctx, "permissions_refresh_failed")
    return goto(Prereq.REFRESH)






_NEW_LINK = Option("Send a new link", "yes", S.SEND)
_PERSON = Option("Talk to a person", "person")

FLOW = Flow(
    name="signin",
    summary="Sign in with Amazon for one region, then explain each outcome Amazon can return.",
    entry=S.SEND,
    states={
        S.SEND: Node(
            topic=Topic.CONNECT_START,
            say="signin/link",
            say_again="signin/still_open",
            link="signin",
            on_enter=_send_link,
            on_event={InboundKind.AMAZON: on_amazon, InboundKind.TIMER: _nudge},
            exits=(Connect.ROUTE, S.SEND, S.CANCELLED, S.EXPIRED, S.RETRY, S.NO_PROFILES, S.WRONG_TYPE,
                   S.OTHER_REGION, S.VIEWER_ONLY, Handoff.WAITING, Region.ASK, S.UNUSED),
        ),
        S.RECHECK: Node(
            topic=Topic.CONNECT_START,
            on_enter=_recheck,
            on_event={InboundKind.AMAZON: on_amazon},
            exits=(Connect.ROUTE, S.SEND, S.CANCELLED, S.EXPIRED, S.RETRY, S.NO_PROFILES, S.WRONG_TYPE,
                   S.OTHER_REGION, S.VIEWER_ONLY, Handoff.WAITING, Region.ASK),
        ),
        S.UNUSED: Node(
            topic=Topic.CONNECT_START,
            say="signin/unused",
            on_text=_retry_if_asked,
            on_event={InboundKind.AMAZON: on_amazon},
            options=(_NEW_LINK, _PERSON),
            reads="yes_no",
            exits=(Connect.ROUTE, S.SEND, S.CANCELLED, S.EXPIRED, S.RETRY, S.NO_PROFILES, S.WRONG_TYPE,
                   S.OTHER_REGION, S.VIEWER_ONLY, Handoff.WAITING),
        ),
        S.CANCELLED: Node(
            topic=Topic.CONNECT_AMAZON_ERROR,
            say="signin/cancelled",
            on_text=_retry_if_asked,
            options=(_NEW_LINK, _PERSON),
            reads="yes_no",
        ),
        S.EXPIRED: Node(
            topic=Topic.CONNECT_AMAZON_ERROR,
            say="signin/expired",
            on_text=_retry_if_asked,
            options=(_NEW_LINK, _PERSON),
            reads="yes_no",
        ),
        S.RETRY: Node(
            topic=Topic.CONNECT_AMAZON_ERROR,
            say="signin/retry",
            on_text=_retry_if_asked,
            options=(_NEW_LINK, _PERSON),
            reads="yes_no",
        ),
        S.NO_PROFILES: Node(
            topic=Topic.CONNECT_ACCOUNT_NOT_LISTED,
            say="signin/no_profiles",
            on_text=_after_no_profiles,
            options=(
                Option("Never advertised", "advertising", Prereq.NEVER_ADVERTISED,
                       sets={"missing": "advertising", "prerequisites_ok": False}),
                Option("Access is missing", "permissions", Prereq.NEED_PERMISSION,
                       sets={"missing": "permissions", "prerequisites_ok": False}),
                Option("Access is already View and Edit", "refresh"),
                Option("Other marketplaces", "region", Region.ASK, sets={"marketplaces": []}),
                _PERSON,
            ),
            on_choice=_refresh_or_handoff,
            exits=(Prereq.REFRESH, Handoff.WAITING, S.SEND, Prereq.REMINDER_SET),
        ),
        S.WRONG_TYPE: Node(
            topic=Topic.CONNECT_ACCOUNT_NOT_LISTED,
            say="signin/wrong_type",
            on_text=_corrected_type,
            options=(Option("Switch account type", "switch"), Option("Use another login", "other_login", S.SEND),
                     _PERSON),
            on_choice=_switch_type,
            exits=(S.SEND,),
        ),
        S.OTHER_REGION: Node(
            topic=Topic.CONNECT_REGION,
            say="signin/other_region",
            on_text=_corrected_marketplaces,
            options=(Option("Name my marketplaces again", "region", Region.ASK, sets={"marketplaces": []}),
                     _NEW_LINK, _PERSON),
        ),
        S.VIEWER_ONLY: Node(
            topic=Topic.PREREQ_PERMISSIONS,
            say="signin/viewer_only",
            on_text=_retry_if_asked,
            options=(Option("Draft the request", "draft", Prereq.DRAFT_OWNER), _NEW_LINK, _PERSON),
        ),
    },
)
