"""Talking to Amazon over HTTP: the code exchange and the profile lists of the three Ads regions.

Everything here is plain httpx against `AmazonHosts`, so the same code runs against Amazon and
against the local stand-in. 429, 5xx, timeouts and dropped connections are retried with
exponential backoff (Retry-After honoured, both capped); the rest is Amazon's answer and is
returned as such for the callback to explain. No token ever reaches a log line from here.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import certifi
import httpx

from bot.amazon.links import AmazonHosts, LinkBuilder
from bot.amazon.marketplaces import Region, marketplace
from bot.amazon.sandbox.grants import SANDBOX_CLIENT_SECRET
from bot.amazon.verify import Profile, safe_code
from bot.config import Settings
from bot.retry import backoff, retry_after

log = logging.getLogger("connectbot.amazon")

REGIONS = tuple(str(r) for r in Region)
FORM = "application/x-www-form-urlencoded;charset=UTF-8"


@dataclass(frozen=True)
class Tokens:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)


class TokenError(Exception):
    """The token endpoint refused or could not be reached; `code` is Amazon's error (or ours for transport)."""

    def __init__(self, code: str, status: int = 0) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class RegionProfiles:
    """One regional host's answer: its profiles, or why there are none to read."""

    region: str
    profiles: tuple[Profile, ...] = ()
    problem: str = ""  # "" | unauthorized | unavailable | not_json


class Unavailable(Exception):
    """Amazon kept failing (429/5xx/timeouts) through every attempt."""


Sleep = Callable[[float], Awaitable[None]]


class AmazonApi:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.settings = settings
        self.hosts = AmazonHosts(settings)
        self.links = LinkBuilder(settings)
        self.transport = transport
        self.sleep = sleep

    @cached_property
    def _tls(self) -> ssl.SSLContext:
        # Building a TLS context loads the CA bundle (~35 ms): once per process, not per callback.
        return ssl.create_default_context(cafile=certifi.where())

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=self.settings.amazon_timeout_seconds,
                                 follow_redirects=False, verify=self._tls)

    # ---- token endpoint ----------------------------------------------------------------------

    async def exchange_code(self, region: str, code: str, verifier: str) -> Tokens:
        """Ads sign-in: authorization code (+ PKCE verifier) -> tokens, at the region's token host."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.links.redirect_uri,
                "client_id": self.links.client_id, "client_secret": self._client_secret()}
        if verifier:
            form["code_verifier"] = verifier
        return await self._token(self.hosts.token_url(region), form)

    async def exchange_spapi_code(self, code: str) -> Tokens:
        """SP-API consent: spapi_oauth_code -> tokens, with the SP-API app's LwA credentials."""
        s = self.settings
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.links.spapi_redirect_uri,
                "client_id": s.spapi_client_id or self.links.client_id,
                "client_secret": s.spapi_client_secret or self._client_secret()}
        return await self._token(self.hosts.spapi_token_url(), form)

    async def refresh(self, region: str, refresh_token: str) -> str:
        """A fresh access token for a stored grant (re-checking a connection later)."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token,
                "client_id": self.links.client_id, "client_secret": self._client_secret()}
        return (await self._token(self.hosts.token_url(region), form, need_refresh=False)).access_token

    def _client_secret(self) -> str:
        return self.settings.amazon_client_secret or SANDBOX_CLIENT_SECRET

    async def _token(self, url: str, form: dict[str, str], need_refresh: bool = True) -> Tokens:
        async with self._client() as client:
            try:
                response = await self._send(client, "POST", url, data=form, headers={"Content-Type": FORM})
            except Unavailable as exc:
                raise TokenError(str(exc) or "temporarily_unavailable") from None
        body = _json(response)
        if response.status_code == 200 and isinstance(body, dict) and body.get("access_token") and (
                body.get("refresh_token") or not need_refresh):
            return Tokens(str(body["access_token"]), str(body.get("refresh_token", "")))
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        log.warning("Amazon token endpoint refused: status=%s error=%s", response.status_code, error or "-")
        raise TokenError(safe_code(error) or "server_error", response.status_code)

    # ---- Ads API profiles ----------------------------------------------------------------------

    async def list_profiles(self, access_token: str, access_level: str = "edit") -> dict[str, RegionProfiles]:
        """GET /v2/profiles on all three regional hosts at once: the total time is the slowest host's."""
        async with self._client() as client:
            answers = await asyncio.gather(*(self._profiles(client, region, access_token, access_level)
                                             for region in REGIONS))
        return {a.region: a for a in answers}

    async def _profiles(self, client: httpx.AsyncClient, region: str, access_token: str,
                        access_level: str) -> RegionProfiles:
        headers = {"Amazon-Advertising-API-ClientId": self.links.client_id,
                   "Authorization": f"Bearer {access_token}"}
        params = {"accessLevel": access_level} if access_level != "edit" else {}
        try:
            response = await self._send(client, "GET", f"{self.hosts.ads_host(region)}/v2/profiles",
                                        headers=headers, params=params)
        except Unavailable:
            return RegionProfiles(region, problem="unavailable")
        if response.status_code in (401, 403):
            return RegionProfiles(region, problem="unauthorized")
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, list):
            log.warning("Amazon profiles unreadable: region=%s status=%s", region, response.status_code)
            return RegionProfiles(region, problem="not_json" if response.status_code == 200 else "unavailable")
        return RegionProfiles(region, tuple(p for p in (_profile(item, access_level) for item in body) if p))

    # ---- retries -------------------------------------------------------------------------------

    async def _send(self, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
        s = self.settings
        attempts = max(1, s.amazon_attempts)
        problem = "temporarily_unavailable"
        for attempt in range(1, attempts + 1):
            wait = backoff(attempt, s.amazon_backoff_seconds, s.amazon_backoff_cap_seconds).total_seconds()
            try:
                response = await client.request(method, url, **kwargs)
            except httpx.TimeoutException:
                problem = "timeout"
                log.warning("Amazon did not answer in time: %s %s (attempt %d of %d)", method, _path(url),
                            attempt, attempts)
            except httpx.TransportError as exc:
                problem = "temporarily_unavailable"
                log.warning("Amazon unreachable: %s %s %s (attempt %d of %d)", method, _path(url),
                            type(exc).__name__, attempt, attempts)
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response
                problem = "throttled" if response.status_code == 429 else "server_error"
                asked = retry_after(response.headers.get("retry-after"), datetime.now(UTC))
                wait = min(s.amazon_backoff_cap_seconds, asked.total_seconds() if asked else wait)
                log.warning("Amazon answered %d: %s %s (attempt %d of %d)", response.status_code, method,
                            _path(url), attempt, attempts)
            if attempt < attempts:
                await self.sleep(wait)
        raise Unavailable(problem)


def _profile(item: Any, access_level: str) -> Profile | None:
    """Amazon's profile object -> ours; entries of unknown shape or marketplace are skipped."""
    if not isinstance(item, dict):
        return None
    raw_info = item.get("accountInfo")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    kind = str(info.get("type", "")).lower()
    try:
        country = marketplace(str(item.get("countryCode", ""))).code
    except KeyError:
        return None
    if kind not in ("seller", "vendor", "agency"):
        return None
    profile_id = item.get("profileId")
    return Profile(country=country, type=kind, access=access_level,
                   profile_id=int(profile_id) if isinstance(profile_id, int) else None)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _path(url: str) -> str:
    """The URL without its query: what a log line may show."""
    return url.split("?", 1)[0]
