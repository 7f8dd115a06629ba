"""Questions whose answer is a fact the bot can state from what it knows: which region a marketplace
is in, whether SP-API is required for this account type. An article answers the rest."""

from __future__ import annotations

from bot.amazon.marketplaces import REGION_NAMES, marketplace, regions_of
from bot.types import Topic
from flows.base import Ctx, Say


def region_fact(ctx: Ctx) -> Say | None:
    """'is amazon.com.br part of North America?': the regions of the marketplaces this message names."""
    named = list(ctx.heard.slots.marketplaces) if ctx.heard else []
    if not named:
        return None
    groups = [{"region": REGION_NAMES[r],
               "marketplaces": [marketplace(c).name for c in named if marketplace(c).region == r]}
              for r in regions_of(named)]
    return Say("region/fact", topic=Topic.CONNECT_REGION, vars={"groups": groups})


def sp_api_fact(ctx: Ctx) -> Say | None:
    """'do I need SP-API?': required for Sellers, optional for Vendors, once the account type is known."""
    account_type = ctx.journey.account_type
    if account_type is None:
        return None
    return Say("sp_api/fact", topic=Topic.CONNECT_SP_API, vars={"account_type": account_type})
