"""The connection journey's spine: what to ask next, account type, agency and the prerequisite check.

`S.ROUTE` looks at what the bot already knows and goes to the first step still missing, so a
customer who said "we're a vendor on amazon.de" is never asked those things again.
"""

from __future__ import annotations

from bot.types import Topic
from flows import region
from flows.answers import says_done
from flows.base import Ctx, Flow, Node, Option, Step, goto
from flows.states import Connect as S
from flows.states import Prereq, Region, Signin, Signup, SpApi, Sync


def next_step(ctx: Ctx) -> Step:
    """The first step of the journey the customer has not done yet."""
    j = ctx.journey
    if j.started_at is None:
        j.started_at = ctx.now
    if j.account_type is None:
        return goto(S.ASK_TYPE)
    if j.new_customer:
        return goto(Signup.STEPS)
    if j.agency and "agency_access" not in j.tried:
        return goto(S.AGENCY)
    if j.prerequisites_ok is None:
        return _prerequisites(ctx)
    if not j.connections and not j.pending_regions:
        # Marketplaces named earlier in the conversation are not asked for again.
        return region.plan_regions(ctx, list(j.marketplaces)) if j.marketplaces else goto(Region.ASK)
    if j.pending_regions:
        return goto(Signin.SEND)
    if j.sp_api is None and (j.account_type in ("seller", "both") or j.sp_api_regions):
        return goto(SpApi.REQUIRED)
    if j.sp_api is None:
        return goto(SpApi.OFFER)
    return goto(Sync.SYNCING)


def _prerequisites(ctx: Ctx) -> Step:
    """What the customer already said about the two checks decides: both true skips them, a missing one
    goes straight to its fix, otherwise the bot asks."""
    j = ctx.journey
    if j.advertised and j.admin:
        j.prerequisites_ok = True
        j.note_tried("customer said a campaign has run and the login has View and Edit")
        return next_step(ctx)
    if j.advertised is False:
        j.missing = "both" if j.admin is False else "advertising"
        return goto(Prereq.NEVER_ADVERTISED)
    if j.admin is False:
        j.missing = "permissions"
        return goto(Prereq.NEED_PERMISSION)
    return goto(S.PREREQ)


def _agency_ready(ctx: Ctx) -> Step:
    ctx.journey.note_tried("agency_access")
    return goto(S.ROUTE)


def _when_agency_ready(ctx: Ctx) -> Step | None:
    return _agency_ready(ctx) if says_done(ctx) else None


def _prereq_yes(ctx: Ctx) -> Step:
    ctx.journey.prerequisites_ok = True
    ctx.journey.missing = None
    return goto(S.ROUTE)


_TYPES = (
    Option("Vendor", "vendor", S.ROUTE, sets={"account_type": "vendor"}),
    Option("Seller", "seller", S.ROUTE, sets={"account_type": "seller"}),
    Option("Both", "both", S.ROUTE, sets={"account_type": "both"}),
)

FLOW = Flow(
    name="connect",
    summary="Account type, agency access and the two prerequisites, then on to region and sign-in.",
    entry=S.ROUTE,
    states={
        S.ROUTE: Node(
            topic=Topic.CONNECT_START,
            on_enter=next_step,
            exits=(S.ASK_TYPE, Signup.STEPS, S.AGENCY, S.PREREQ, Region.ASK, Signin.SEND,
                   SpApi.REQUIRED, SpApi.OFFER, Sync.SYNCING, Prereq.NEVER_ADVERTISED, Prereq.NEED_PERMISSION),
            resumable=False,
        ),
        S.ASK_TYPE: Node(
            topic=Topic.CONNECT_ACCOUNT_TYPE,
            say="connect/ask_type",
            options=(*_TYPES, Option("Not sure", "unsure", S.TYPE_HELP)),
            reads="account_type",
        ),
        S.TYPE_HELP: Node(
            topic=Topic.CONNECT_ACCOUNT_TYPE,
            say="connect/type_help",
            options=_TYPES,
            reads="account_type",
        ),
        S.AGENCY: Node(
            topic=Topic.CONNECT_AGENCY,
            say="connect/agency",
            options=(
                Option("Yes", "yes"),
                Option("Not yet", "no", S.AGENCY_DRAFT),
            ),
            reads="yes_no",
            on_choice=_agency_ready,
            on_text=_when_agency_ready,
            exits=(S.ROUTE,),
        ),
        S.AGENCY_DRAFT: Node(
            topic=Topic.CONNECT_AGENCY,
            say="connect/agency_draft",
            options=(Option("Done", "yes"),),
            reads="yes_no",
            on_choice=_agency_ready,
            on_text=_when_agency_ready,
            exits=(S.ROUTE,),
        ),
        S.PREREQ: Node(
            topic=Topic.CONNECT_REQUIREMENTS,
            say="connect/prereq",
            options=(
                Option("Yes", "yes"),
                Option("No", "no", S.PREREQ_WHICH),
                Option("Not sure", "unsure", S.PREREQ_HOW),
            ),
            reads="yes_no",
            on_choice=_prereq_yes,
            exits=(S.ROUTE,),
        ),
        S.PREREQ_HOW: Node(
            topic=Topic.CONNECT_REQUIREMENTS,
            say="connect/prereq_how",
            options=(Option("Yes", "yes"), Option("No", "no", S.PREREQ_WHICH)),
            reads="yes_no",
            on_choice=_prereq_yes,
            exits=(S.ROUTE,),
        ),
        S.PREREQ_WHICH: Node(
            topic=Topic.CONNECT_REQUIREMENTS,
            say="connect/prereq_which",
            options=(
                Option("No campaigns yet", "advertising", Prereq.NEVER_ADVERTISED,
                       sets={"missing": "advertising"}),
                Option("No View and Edit access", "permissions", Prereq.NEED_PERMISSION,
                       sets={"missing": "permissions"}),
                Option("Both", "both", Prereq.NEVER_ADVERTISED, sets={"missing": "both"}),
            ),
        ),
    },
)
