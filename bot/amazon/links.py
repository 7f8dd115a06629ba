"""Sign-in and consent links: a short link of ours, bound to one conversation, leading to Amazon.

With Amazon credentials configured the link leads to Amazon's regional authorization URL (or the
Seller/Vendor Central consent page for SP-API); without them, to the local stand-in.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.amazon.marketplaces import ENDPOINTS, Region, marketplace
from bot.config import Settings
from flows.journey import Journey

TokenSource = Callable[[], str]


def random_tokens() -> str:
    return secrets.token_urlsafe(24)


def seeded_tokens(seed: int = 0) -> Callable[[], str]:
    """Link tokens that repeat run after run: scripted chats print the same links every time."""
    rng = random.Random(seed)
    return lambda: "".join(rng.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(24))


@dataclass(frozen=True)
class LinkPlan:
    """Which region and marketplaces the next link of a conversation is for."""

    kind: str  # signin | spapi
    region: str
    marketplaces: list[str]


def plan_link(kind: str, journey: Journey) -> LinkPlan:
    if kind == "signin":
        region = journey.pending_regions[0] if journey.pending_regions else "NA"
        return LinkPlan(kind, region, [m for m in journey.marketplaces if str(marketplace(m).region) == region])
    # SP-API consent is per region: the next connected region without it, else the first marketplace named.
    pending = [c.marketplaces[0] for c in journey.sp_api_missing if c.marketplaces]
    markets = pending[:1] or journey.marketplaces[:1] or ["US"]
    return LinkPlan(kind, str(marketplace(markets[0]).region), markets)


class LinkBuilder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def authorize_url(self, plan: LinkPlan, account_type: str, state_token: str) -> str:
        if plan.kind == "signin":
            return self.signin(plan.region, state_token)
        return self.consent(plan.marketplaces[0], account_type, state_token)

    def short_url(self, state_token: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}/connect/{state_token}"

    def signin(self, region: str, state_token: str) -> str:
        s = self.settings
        params = {
            "client_id": s.amazon_client_id or "sandbox-client",
            "scope": s.amazon_scope,
            "response_type": "code",
            "redirect_uri": s.amazon_redirect_uri or f"{s.base_url.rstrip('/')}/oauth/amazon/callback",
            "state": state_token,
        }
        base = (ENDPOINTS[Region(region)].authorization_url if s.amazon_live
                else f"{s.base_url.rstrip('/')}/sandbox/amazon/{region.lower()}/ap/oa")
        return f"{base}?{urlencode(params)}"

    def consent(self, marketplace_code: str, account_type: str, state_token: str) -> str:
        s = self.settings
        params = {"application_id": s.spapi_application_id or "sandbox-app", "state": state_token,
                  "version": "beta"}
        market = marketplace(marketplace_code)
        central = market.vendor_central if account_type == "vendor" else market.seller_central
        base = (f"{central}/apps/authorize/consent" if s.spapi_application_id
                else f"{s.base_url.rstrip('/')}/sandbox/spapi/{market.code.lower()}/apps/authorize/consent")
        return f"{base}?{urlencode(params)}"
