"""Who the in-app customer is: an HS256 JWT signed by the host application, and nothing else.

The host app signs `sub` (its user id), `org`, `exp` (at most 24 h ahead) and optionally `name`
and `email` with INAPP_IDENTITY_SECRET. The algorithm is pinned to HS256, so a token that says
`alg: none` or any other algorithm is refused before its signature is looked at. Expiry is
checked against the service's clock (the one the turns use), with a short leeway for host clocks
that run a little fast or slow.

Without a secret and without Amazon credentials (the embedded default) a development secret is
made at start, and the demo host page asks `POST /api/chat/dev-token` for a token.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from bot.clock import Clock
from bot.config import Settings

log = logging.getLogger("connectbot.inapp")

ALGORITHM = "HS256"
MAX_LIFETIME = timedelta(hours=24)
LEEWAY = timedelta(seconds=60)
DEV_LIFETIME = timedelta(hours=12)
MIN_SECRET_LENGTH = 32  # HS256 wants a key at least as long as its 256-bit digest
MAX_ID_LENGTH = 200  # what the conversation's org and user columns hold


class IdentityRefused(Exception):
    """The request carries no identity we can trust; `reason` is short and safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IdentityConfigError(RuntimeError):
    """INAPP_IDENTITY_SECRET is missing where it is required, or too short."""


@dataclass(frozen=True)
class Identity:
    user: str
    org: str
    name: str
    email: str
    expires_at: datetime


def plain_id(value: object, what: str, limit: int = MAX_ID_LENGTH) -> str:
    """An id fit for storage on every database: a non-empty string of printable characters."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    if len(value) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    if not value.isprintable() or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError(f"{what} holds characters that cannot be stored (control characters or lone surrogates)")
    return value


class IdentityVerifier:
    def __init__(self, secret: str, clock: Clock, development: bool = False) -> None:
        self._secret = secret
        self.clock = clock
        self.development = development

    def verify(self, token: str | None) -> Identity:
        if not token:
            raise IdentityRefused("missing token: send Authorization: Bearer <token>")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise IdentityRefused("malformed token") from None
        if header.get("alg") != ALGORITHM:
            raise IdentityRefused(f"token algorithm must be {ALGORITHM}")
        try:
            # Expiry and not-before are checked below against the service clock, not the host's.
            claims: dict[str, Any] = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM],
                options={"require": ["exp"], "verify_exp": False, "verify_nbf": False, "verify_iat": False})
        except jwt.MissingRequiredClaimError:
            raise IdentityRefused("token has no exp claim") from None
        except jwt.InvalidSignatureError:
            raise IdentityRefused("bad token signature") from None
        except jwt.InvalidTokenError:
            raise IdentityRefused("malformed token") from None
        return self._identity(claims)

    def _identity(self, claims: dict[str, Any]) -> Identity:
        now = self.clock.now()
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise IdentityRefused("token exp must be a number (seconds since 1970)")
        try:
            expires_at = datetime.fromtimestamp(exp, tz=now.tzinfo)
        except (OverflowError, OSError, ValueError):
            raise IdentityRefused("token exp is out of range") from None
        if expires_at + LEEWAY < now:
            raise IdentityRefused("token expired")
        if expires_at > now + MAX_LIFETIME + LEEWAY:
            raise IdentityRefused("token exp is more than 24 hours ahead")
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and datetime.fromtimestamp(nbf, tz=now.tzinfo) > now + LEEWAY:
            raise IdentityRefused("token not valid yet")
        try:
            user = plain_id(claims.get("sub"), "token sub")
            org = plain_id(claims.get("org"), "token org")
        except ValueError as exc:
            raise IdentityRefused(str(exc)) from None
        return Identity(user=user, org=org, name=_optional(claims.get("name")), email=_optional(claims.get("email")),
                        expires_at=expires_at)

    def mint(self, user: str, org: str, name: str = "", lifetime: timedelta = DEV_LIFETIME) -> str:
        """A token as a host app would sign it: what the demo page's dev-token route hands out."""
        claims: dict[str, Any] = {"sub": user, "org": org, "exp": int((self.clock.now() + lifetime).timestamp())}
        if name:
            claims["name"] = name
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)


def _optional(value: object) -> str:
    if not isinstance(value, str):
        return ""
    return "".join(ch for ch in value[:MAX_ID_LENGTH] if ch.isprintable() and not "\ud800" <= ch <= "\udfff")


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def verifier_for(settings: Settings, clock: Clock) -> IdentityVerifier:
    """The verifier of this web process; refuses to start where a development identity would be unsafe."""
    secret = settings.inapp_identity_secret
    if secret:
        if len(secret) < MIN_SECRET_LENGTH:
            raise IdentityConfigError(f"INAPP_IDENTITY_SECRET is shorter than {MIN_SECRET_LENGTH} characters: "
                                      "use a long random value (python -c 'import secrets; "
                                      "print(secrets.token_urlsafe(32))')")
        return IdentityVerifier(secret, clock)
    if settings.amazon_configured:
        raise IdentityConfigError("Amazon credentials are configured but INAPP_IDENTITY_SECRET is not: the host "
                                  "application must sign who each in-app customer is")
    log.warning("in-app identities are development ones: INAPP_IDENTITY_SECRET is not set, so a secret was made "
                "for this run and POST /api/chat/dev-token hands out tokens to anyone")
    return IdentityVerifier(secrets.token_urlsafe(32), clock, development=True)
