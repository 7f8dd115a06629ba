"""Which marketplaces, so which Amazon regions: one sign-in link per region."""

from __future__ import annotations

import re
from typing import Final

from bot.amazon.marketplaces import REGION_NAMES, marketplace, regions_of
from bot.amazon.marketplaces import Region as AdsRegion
from bot.types import Topic
from flows.base import Ctx, Flow, Node, Option, Say, Step, goto
from flows.states import Region as S
from flows.states import Signin


def plan_regions(ctx: Ctx, codes: list[str]) -> Step:
    """Remember the marketplaces and queue one sign-in per region, saying why when there are several."""
    j = ctx.journey
    for code in codes:
        if code not in j.marketplaces:
            j.marketplaces.append(code)
    regions = [str(r) for r in regions_of(codes)]
    j.pending_regions = [r for r in regions if r not in j.connected_regions]
    groups = [
        {"region": REGION_NAMES[AdsRegion(r)],
         "marketplaces": [marketplace(c).name for c in codes if str(marketplace(c).region) == r]}
        for r in regions
    ]
    unconfirmed = [marketplace(c).name for c in codes if not marketplace(c).confirmed]
    plan = Say("region/plan", topic=Topic.CONNECT_REGION, vars={"groups": groups, "unconfirmed": unconfirmed})
    return goto(Signin.SEND, plan)


_ASKS_WHICH: Final = re.compile(r"^\W*(?:wait\W+)?(?:which|what|where|is|are|does|do|how)\b|\b(?:which|what) region\b")


def _read_marketplaces(ctx: Ctx) -> Step | None:
    if ctx.heard is None or not ctx.heard.slots.marketplaces:
        return None
    if "?" in ctx.inbound.text and _ASKS_WHICH.search(ctx.inbound.text.lower()):
        return None  # "which region is Japan?": answered as a question, then the step is asked again
    return plan_regions(ctx, list(ctx.heard.slots.marketplaces))


def _plan_if_known(ctx: Ctx) -> Step | None:
    """Marketplaces the customer already named are planned without asking again."""
    j = ctx.journey
    if j.marketplaces and not j.pending_regions and not j.connections:
        return plan_regions(ctx, list(j.marketplaces))
    return None


def _region_chosen(ctx: Ctx) -> Step:
    region = str(ctx.choice)
    ctx.journey.pending_regions = [region]
    return goto(Signin.SEND, Say("region/plan", topic=Topic.CONNECT_REGION, vars={
        "groups": [{"region": REGION_NAMES[AdsRegion(region)], "marketplaces": []}], "unconfirmed": []}))


FLOW = Flow(
    name="region",
    summary="Marketplaces the customer names are mapped to North America, Europe or Far East.",
    entry=S.ASK,
    states={
        S.ASK: Node(
            topic=Topic.CONNECT_REGION,
            say="region/ask",
            options=tuple(Option(REGION_NAMES[r], str(r)) for r in AdsRegion),
            on_enter=_plan_if_known,
            on_choice=_region_chosen,
            on_text=_read_marketplaces,
            exits=(Signin.SEND,),
        ),
    },
)
