"""The host application's side of the in-app chat: it signs who its customer is, as the README shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt

from bot.clock import Clock

# The identity secret the tests' host app and service share (never used outside the suite).
HOST_SECRET = "test-host-secret-0123456789abcdefghijklmnopqrstuvwxyz-0123456789ABCD"


def sign(clock: Clock, user: str = "u1", org: str = "acme", lifetime: timedelta = timedelta(hours=1),
         secret: str = HOST_SECRET, **extra: Any) -> str:
    claims: dict[str, Any] = {"sub": user, "org": org, "exp": int((clock.now() + lifetime).timestamp()), **extra}
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
