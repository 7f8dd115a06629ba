"""Sign-in and consent links: a short link of ours, bound to one conversation, leading to Amazon.

With Amazon credentials configured the link leads to Amazon's regional authorization URL (or the
Seller/Vendor Central consent page for SP-API); without them, to the local stand-in. Sign-in links
carry a PKCE S256 challenge; the verifier is kept with the link's row.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.amazon.marketplaces import ENDPOINTS, Region, marketplace
from bot.amazon.pkce import s256_challenge
from bot.amazon.sandbox.grants import SANDBOX_APPLICATION_ID, SANDBOX_CLIENT_ID
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


class AmazonHosts:
    """Where Amazon is for this deployment: its real regional endpoints, or the local stand-in."""

    def __init__(self, settings: Settings) -> None:
        self.live = settings.amazon_live
        self.sandbox = settings.sandbox_url

    def authorization_url(self, region: str) -> str:
        if self.live:
            return ENDPOINTS[Region(region)].authorization_url
        return f"{self.sandbox}/amazon/{region.lower()}/ap/oa"

    def token_url(self, region: str) -> str:
        if self.live:
            return ENDPOINTS[Region(region)].token_url
        return f"{self.sandbox}/{region.lower()}/auth/o2/token"

    def ads_host(self, region: str) -> str:
        if self.live:
            return ENDPOINTS[Region(region)].ads_host
        return f"{self.sandbox}/{region.lower()}"

    def consent_url(self, marketplace_code: str, account_type: str) -> str:
        market = marketplace(marketplace_code)
        if self.live:
            central = market.vendor_central if account_type == "vendor" else market.seller_central
            return f"{central}/apps/authorize/consent"
        return f"{self.sandbox}/spapi/{market.code.lower()}/apps/authorize/consent"

    def spapi_token_url(self) -> str:
        # SP-API documents one LwA token host for every region.
        return self.token_url("NA")


class LinkBuilder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.hosts = AmazonHosts(settings)

    @property
    def client_id(self) -> str:
        return self.settings.amazon_client_id or SANDBOX_CLIENT_ID

    @property
    def redirect_uri(self) -> str:
        return self.settings.amazon_redirect_uri or f"{self.settings.public_url}/oauth/amazon/callback"

    @property
    def spapi_redirect_uri(self) -> str:
        return self.settings.spapi_redirect_uri or f"{self.settings.public_url}/oauth/spapi/callback"

    def authorize_url(self, plan: LinkPlan, account_type: str, state_token: str, verifier: str) -> str:
        if plan.kind == "signin":
            return self.signin(plan.region, state_token, verifier)
        return self.consent(plan.marketplaces[0] if plan.marketplaces else "US", account_type, state_token)

    def short_url(self, state_token: str) -> str:
        return f"{self.settings.public_url}/connect/{state_token}"

    def signin(self, region: str, state_token: str, verifier: str) -> str:
        params = {
            "client_id": self.client_id,
            "scope": self.settings.amazon_scope,
            "response_type": "code",
            "redirect_uri": self.redirect_uri,
            "state": state_token,
            "code_challenge": s256_challenge(verifier),
            "code_challenge_method": "S256",
        }
        return f"{self.hosts.authorization_url(region)}?{urlencode(params)}"

    def consent(self, marketplace_code: str, account_type: str, state_token: str) -> str:
        s = self.settings
        params = {"application_id": s.spapi_application_id or SANDBOX_APPLICATION_ID, "state": state_token}
        if s.spapi_redirect_uri or not s.amazon_live:
            params["redirect_uri"] = self.spapi_redirect_uri
        if s.spapi_draft:
            params["version"] = "beta"
        return f"{self.hosts.consent_url(marketplace_code, account_type)}?{urlencode(params)}"
