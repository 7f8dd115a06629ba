"""What the stand-in remembers, and the rules Amazon applies to it.

Authorization codes live 5 minutes and work once; an exchange must repeat the redirect URI the
code was issued for and, when PKCE was used, prove the verifier. Access tokens list the profiles
the person chose on the consent page, region by region, like the three regional Ads hosts do.
Everything is in memory: the stand-in is for demos and tests, never for real accounts.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.amazon.marketplaces import marketplace
from bot.clock import Clock

# The stand-in's own credentials: what links and exchanges carry when Amazon is not configured.
SANDBOX_CLIENT_ID = "amzn1.application-oa2-client.sandbox"
SANDBOX_CLIENT_SECRET = "sandbox-secret"
SANDBOX_APPLICATION_ID = "amzn1.sp.solution.sandbox"

CODE_LIFETIME = timedelta(minutes=5)
ACCESS_LIFETIME_SECONDS = 3600


@dataclass(frozen=True)
class ChosenProfile:
    """One advertising account the person says Amazon should list."""

    country: str
    type: str  # seller | vendor | agency
    access: str = "edit"  # edit | view

    def as_amazon(self, profile_id: int) -> dict[str, Any]:
        """The profile as GET /v2/profiles returns it."""
        market = marketplace(self.country)
        return {
            "profileId": profile_id,
            "countryCode": market.code,
            "currencyCode": "",
            "timezone": "",
            "accountInfo": {
                "marketplaceStringId": market.marketplace_id,
                "id": f"A{profile_id:013d}",
                "type": self.type,
                "name": f"Sandbox {self.type} {market.code}",
                "validPaymentMethod": True,
            },
        }


@dataclass
class Grant:
    """What one consent produced: the profiles behind it and who may exchange it."""

    profiles: list[ChosenProfile]
    client_id: str
    redirect_uri: str
    code_challenge: str
    code_challenge_method: str
    issued_at: datetime
    selling_partner_id: str = ""
    used: bool = False


@dataclass
class ExchangeError(Exception):
    status: int
    error: str
    description: str

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class Grants:
    clock: Clock
    client_id: str
    client_secret: str
    codes: dict[str, Grant] = field(default_factory=dict)
    access: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue_code(self, grant: Grant, *, expired: bool = False) -> str:
        code = "ANsandbox" + secrets.token_urlsafe(18)
        if expired:  # "let the code expire": as if the person came back six minutes later
            grant.issued_at = grant.issued_at - CODE_LIFETIME - timedelta(minutes=1)
        with self._lock:
            self.codes[code] = grant
        return code

    def exchange(self, form: dict[str, str]) -> dict[str, Any]:
        """POST /auth/o2/token, grant types authorization_code and refresh_token."""
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            raise ExchangeError(401, "invalid_client", "Client authentication failed")
        kind = form.get("grant_type", "")
        if kind == "refresh_token":
            with self._lock:
                grant = self.refresh.get(form.get("refresh_token", ""))
            if grant is None:
                raise ExchangeError(400, "invalid_grant", "The request has an invalid grant parameter : "
                                    "refresh_token. User may have revoked or didn't grant the permission.")
            return self._tokens(grant, form.get("refresh_token", ""))
        if kind != "authorization_code":
            raise ExchangeError(400, "unsupported_grant_type", "The authorization grant type is not supported")
        invalid_code = ExchangeError(400, "invalid_grant", "The request has an invalid grant parameter : code")
        with self._lock:
            grant = self.codes.get(form.get("code", ""))
            if grant is None or grant.used:
                raise invalid_code
            grant.used = True  # single use, even when the rest of the exchange fails
        if self.clock.now() - grant.issued_at > CODE_LIFETIME:
            raise invalid_code
        if form.get("redirect_uri") != grant.redirect_uri:
            raise invalid_code
        if grant.code_challenge and not _verifier_matches(form.get("code_verifier", ""), grant):
            raise ExchangeError(400, "invalid_grant", "The request has an invalid parameter : code_verifier")
        return self._tokens(grant, "Atzr|" + secrets.token_urlsafe(32))

    def profiles(self, access_token: str, region: str, access_level: str) -> list[dict[str, Any]] | None:
        """The profiles this token sees on one regional host; None for a token Amazon would refuse."""
        with self._lock:
            grant = self.access.get(access_token)
        if grant is None:
            return None
        listed = []
        for index, chosen in enumerate(grant.profiles):
            if str(marketplace(chosen.country).region) != region:
                continue
            if access_level == "edit" and chosen.access != "edit":
                continue
            listed.append(chosen.as_amazon(3_000_000_000 + index + 1))
        return listed

    def _tokens(self, grant: Grant, refresh_token: str) -> dict[str, Any]:
        access_token = "Atza|" + secrets.token_urlsafe(32)
        with self._lock:
            self.access[access_token] = grant
            self.refresh[refresh_token] = grant
        return {"access_token": access_token, "token_type": "bearer", "expires_in": ACCESS_LIFETIME_SECONDS,
                "refresh_token": refresh_token}


def _verifier_matches(verifier: str, grant: Grant) -> bool:
    if grant.code_challenge_method.upper() == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        computed = verifier
    return secrets.compare_digest(computed, grant.code_challenge)


def parse_chosen(text: str) -> list[ChosenProfile]:
    """'DE:vendor FR:seller:view' -> profiles; ValueError says what is wrong with an entry."""
    chosen = []
    for entry in text.replace(",", " ").split():
        country, kind, access = ([*entry.split(":"), "", ""])[:3]
        kind = (kind or "seller").lower()
        access = (access or "edit").lower()
        try:
            marketplace(country)
        except KeyError:
            raise ValueError(f"no Amazon marketplace for country {country!r}") from None
        if kind not in ("seller", "vendor", "agency"):
            raise ValueError(f"profile type must be seller, vendor or agency, not {kind!r}")
        if access not in ("edit", "view"):
            raise ValueError(f"access must be edit or view, not {access!r}")
        chosen.append(ChosenProfile(country.upper(), kind, access))
    return chosen
