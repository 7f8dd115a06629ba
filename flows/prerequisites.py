"""The two prerequisites when they are not met: a campaign that has run, and View and Edit access.

Never advertised: create a campaign, wait about 24 hours; the bot offers a reminder that really
fires. Missing access: the account owner grants View and Edit; the bot drafts the request.
Access granted but not recognised: the owner removes all users and adds them back.
"""

from __future__ import annotations

from datetime import timedelta

from bot.types import InboundKind, Topic
from flows.answers import says_campaign_running, says_done, says_not_yet
from flows.base import Ctx, Flow, Node, Option, Step, TimerSpec, goto
from flows.handoff import handoff
from flows.states import Connect, Handoff, Signin
from flows.states import Prereq as S

REMINDER_AFTER = timedelta(hours=24)


def _campaign_running(ctx: Ctx) -> Step:
    """The campaign has run: check permissions next if those were missing too, else carry on."""
    if ctx.journey.missing == "both":
        ctx.journey.missing = "permissions"
        return goto(S.NEED_PERMISSION)
    ctx.journey.missing = None
    ctx.journey.prerequisites_ok = True
    return goto(Connect.ROUTE)


def _permission_granted(ctx: Ctx) -> Step:
    ctx.journey.missing = None
    ctx.journey.prerequisites_ok = True
    return goto(Connect.ROUTE)


def _reminder_wanted(ctx: Ctx) -> Step:
    if ctx.choice == "yes":
        ctx.journey.reminder_set = True
        ctx.journey.note_tried("24h campaign reminder")
        return goto(S.REMINDER_SET)
    return goto(S.PAUSED)


def _reminder_fired(ctx: Ctx) -> Step:
    ctx.journey.reminder_set = False
    return goto(S.REMINDER_DUE)


def _when_running(ctx: Ctx) -> Step | None:
    """'The campaign is live now', 'ready to connect': carry on without waiting for the reminder."""
    heard = ctx.heard
    wants_on = heard is not None and (heard.topics[0] in (Topic.CONNECT_START, Topic.CONNECT_REGION)
                                      or bool(heard.slots.marketplaces))
    return _campaign_running(ctx) if says_done(ctx) or wants_on else None


def _skip_if_running(ctx: Ctx) -> Step | None:
    """'I was told to come back after 24 h, our campaign is running now': no need to explain it again."""
    if ctx.inbound.kind == InboundKind.SAY and says_campaign_running(ctx.inbound.text):
        return _campaign_running(ctx)
    return None


def _when_granted(ctx: Ctx) -> Step | None:
    return _permission_granted(ctx) if says_done(ctx) else None


def _when_refreshed(ctx: Ctx) -> Step | None:
    if says_not_yet(ctx) or "already" in ctx.inbound.text.lower():
        ctx.choice = "already"
        return _refresh_done(ctx)
    if says_done(ctx):
        ctx.choice = "yes"
        return _refresh_done(ctx)
    return None


def _refresh_done(ctx: Ctx) -> Step:
    if ctx.choice == "already":
        ctx.journey.note_tried("owner removed and re-added users")
        return handoff(ctx, "permissions_refresh_failed")
    ctx.journey.refresh_done = True
    ctx.journey.note_tried("owner removed and re-added users")
    ctx.journey.prerequisites_ok = True
    if ctx.journey.connections or ctx.journey.pending_regions:
        return goto(Signin.SEND)
    return goto(Connect.ROUTE)


def _on_refresh_enter(ctx: Ctx) -> Step | None:
    # Amazon already ignored a refreshed user once: the bot has nothing left to try.
    if ctx.journey.refresh_done:
        return handoff(ctx, "permissions_refresh_failed")
    return None


_PERSON = Option("Talk to a person", "person")

FLOW = Flow(
    name="prerequisites",
    summary="Fixes for the two prerequisites: a first campaign (with a 24 h reminder) and View and Edit access.",
    entry=S.NEVER_ADVERTISED,
    states={
        S.NEVER_ADVERTISED: Node(
            topic=Topic.PREREQ_ADVERTISING,
            say="prerequisites/never_advertised",
            on_enter=_skip_if_running,
            options=(Option("Yes, remind me", "yes"), Option("No thanks", "no")),
            reads="yes_no",
            on_choice=_reminder_wanted,
            exits=(S.REMINDER_SET, S.PAUSED, S.NEED_PERMISSION, Connect.ROUTE),
        ),
        S.REMINDER_SET: Node(
            topic=Topic.PREREQ_ADVERTISING,
            say="prerequisites/reminder_set",
            timers=(TimerSpec("campaign_reminder", REMINDER_AFTER),),
            on_event={InboundKind.TIMER: _reminder_fired},
            options=(Option("It's running now", "yes"), Option("Cancel the reminder", "cancel", S.PAUSED)),
            on_choice=_campaign_running,
            on_text=_when_running,
            exits=(S.REMINDER_DUE, S.NEED_PERMISSION, Connect.ROUTE),
        ),
        S.REMINDER_DUE: Node(
            topic=Topic.PREREQ_ADVERTISING,
            say="prerequisites/reminder_due",
            options=(Option("Yes", "yes"), Option("Not yet", "no", S.NEVER_ADVERTISED)),
            reads="yes_no",
            on_choice=_campaign_running,
            on_text=_when_running,
            exits=(S.NEED_PERMISSION, Connect.ROUTE),
        ),
        S.PAUSED: Node(
            topic=Topic.PREREQ_ADVERTISING,
            say="prerequisites/paused",
            options=(Option("It's running now", "yes"),),
            reads="yes_no",
            on_choice=_campaign_running,
            on_text=_when_running,
            exits=(S.NEED_PERMISSION, Connect.ROUTE),
            resumable=False,
        ),
        S.NEED_PERMISSION: Node(
            topic=Topic.PREREQ_PERMISSIONS,
            say="prerequisites/need_permission",
            options=(
                Option("Draft it for me", "yes", S.DRAFT_OWNER),
                Option("I am the owner", "owner", S.GRANT_HOW),
                Option("It's done", "done"),
            ),
            reads="yes_no",
            on_choice=_permission_granted,
            on_text=_when_granted,
            exits=(Connect.ROUTE,),
        ),
        S.DRAFT_OWNER: Node(
            topic=Topic.PREREQ_PERMISSIONS,
            say="prerequisites/draft_owner",
            options=(Option("Access granted", "yes"), _PERSON),
            reads="yes_no",
            on_choice=_permission_granted,
            on_text=_when_granted,
            exits=(Connect.ROUTE,),
        ),
        S.GRANT_HOW: Node(
            topic=Topic.PREREQ_PERMISSIONS,
            say="prerequisites/grant_how",
            options=(Option("Done", "yes"), _PERSON),
            reads="yes_no",
            on_choice=_permission_granted,
            on_text=_when_granted,
            exits=(Connect.ROUTE,),
        ),
        S.REFRESH: Node(
            topic=Topic.PREREQ_PERMISSIONS_REFRESH,
            say="prerequisites/refresh",
            on_enter=_on_refresh_enter,
            options=(Option("Done, try again", "yes"), Option("We already did that", "already"), _PERSON),
            on_choice=_refresh_done,
            on_text=_when_refreshed,
            exits=(Signin.SEND, Connect.ROUTE, Handoff.WAITING),
        ),
    },
)
