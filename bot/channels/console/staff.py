"""Who is signed in to the console: a person from the ID token, their role, and the session that remembers them.

The session lives in Starlette's signed cookie (itsdangerous), scoped to /console. It holds the person,
when they signed in (by the service clock, so it expires on the clock the rest of the service keeps),
and the CSRF token every form carries. Nothing else identifies staff: a customer's in-app bearer token
is never looked at here.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import as_utc

ROLES = ("agent", "strategist")
ENDED = "ended"  # kept in a session whose sign-in expired
# What each role may do; a strategist also does what an agent does.
ACTIONS = {"agent": frozenset({"handoff"}),
           "strategist": frozenset({"handoff", "claim", "reply", "return", "resolve"})}


class RolesConfigError(ValueError):
    """CONSOLE_ROLES is not a JSON object of email or group -> agent | strategist."""


@dataclass(frozen=True)
class Staff:
    sub: str
    name: str
    email: str
    role: str

    def may(self, action: str) -> bool:
        return action in ACTIONS.get(self.role, frozenset())


def parse_roles(raw: str) -> dict[str, str]:
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        raise RolesConfigError("CONSOLE_ROLES must be JSON, e.g. {\"sam@example.com\": \"strategist\"}") from None
    if not isinstance(parsed, dict) or any(v not in ROLES for v in parsed.values()):
        raise RolesConfigError("CONSOLE_ROLES maps email or group to \"agent\" or \"strategist\"")
    return {str(k).lower(): str(v) for k, v in parsed.items()}


def role_of(claims: dict[str, Any], configured: dict[str, str]) -> str | None:
    """The strongest role the token's `roles` claim or CONSOLE_ROLES (by email, then groups) grants, or None."""
    found: set[str] = set()
    claimed = claims.get("roles")
    for role in [claimed] if isinstance(claimed, str) else (claimed if isinstance(claimed, list) else []):
        if role in ROLES:
            found.add(str(role))
    email = str(claims.get("email") or "").lower()
    if email and claims.get("email_verified", True) is not False and email in configured:
        found.add(configured[email])
    groups = claims.get("groups")
    for group in groups if isinstance(groups, list) else []:
        if str(group).lower() in configured:
            found.add(configured[str(group).lower()])
    if "strategist" in found:
        return "strategist"
    return "agent" if "agent" in found else None


def start_session(session: dict[str, Any], staff: Staff, now: datetime) -> None:
    session.clear()  # a fresh session at sign-in: nothing from before survives (no fixation)
    session["staff"] = asdict(staff)
    session["at"] = as_utc(now).isoformat()
    session["csrf"] = secrets.token_urlsafe(32)


def current(session: dict[str, Any], now: datetime, lifetime: timedelta) -> Staff | None:
    raw, at = session.get("staff"), session.get("at")
    if not isinstance(raw, dict) or not isinstance(at, str):
        return None
    try:
        started = datetime.fromisoformat(at)
        staff = Staff(**{k: str(raw[k]) for k in ("sub", "name", "email", "role")})
    except (KeyError, TypeError, ValueError):
        return None
    if as_utc(now) - started > lifetime or staff.role not in ROLES:
        session.clear()
        session[ENDED] = True  # the sign-in page says why, until the next sign-in starts a fresh session
        return None
    return staff


def csrf_ok(session: dict[str, Any], sent: str | None) -> bool:
    expected = session.get("csrf")
    if not isinstance(expected, str) or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())
