"""Rate limits shared by every web process: one counter row per caller and minute, counted in the database.

Each request adds one to its caller's row for the current window with a single atomic
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING hits`, so two web processes (or two requests of
one) never both see the last free slot. Callers are an IP address (every request to the chat API,
the sign-in links and the OAuth callbacks) and an in-app identity (once its token is verified);
both are hashed, so the table holds no address or user id. Over the limit: 429 with
`Retry-After` (the seconds until the window turns). A limiter whose database does not answer lets
the request through: the request itself will find out.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import math
from dataclasses import dataclass

from anyio import to_thread
from sqlalchemy import Engine as DbEngine
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.clock import Clock
from bot.render import Templates
from bot.store.models import RateWindow
from bot.store.rows import table

log = logging.getLogger("connectbot.ratelimit")

RATE_WINDOWS = table(RateWindow)
WINDOW_SECONDS = 60
LIMITED_PATHS = ("/api/chat/", "/connect/", "/oauth/")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


class RateLimiter:
    def __init__(self, db: DbEngine, clock: Clock) -> None:
        self.db, self.clock = db, clock
        dialect_insert = pg_insert if db.dialect.name == "postgresql" else sqlite_insert
        statement = dialect_insert(RATE_WINDOWS)
        self._count = statement.on_conflict_do_update(
            index_elements=["key", "window"], set_={"hits": RATE_WINDOWS.c.hits + 1}).returning(RATE_WINDOWS.c.hits)
        self._hits_since_sweep = 0

    def hit(self, scope: str, caller: str, limit: int) -> Verdict:
        """Counts one request of `caller` against `limit` per minute (0: no limit)."""
        if limit <= 0:
            return Verdict(True)
        now = self.clock.now().timestamp()
        window = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        key = f"{scope}:{hashlib.sha256(caller.encode('utf-8', 'surrogatepass')).hexdigest()[:64]}"
        try:
            with self.db.begin() as conn:
                hits = conn.execute(self._count.values(key=key, window=window, hits=1)).scalar_one()
                self._hits_since_sweep += 1
                if self._hits_since_sweep >= 500:  # old windows are never read again
                    self._hits_since_sweep = 0
                    conn.execute(delete(RATE_WINDOWS).where(RATE_WINDOWS.c.window < window - WINDOW_SECONDS))
        except SQLAlchemyError as exc:
            log.warning("rate limit not counted (%s): request let through", type(exc).__name__)
            return Verdict(True)
        if hits <= limit:
            return Verdict(True)
        return Verdict(False, max(1, math.ceil(window + WINDOW_SECONDS - now)))


class IpRateLimit:
    """Counts every request to the limited paths per client address, before anything else reads it."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, per_minute: int, templates: Templates) -> None:
        self.app, self.limiter, self.per_minute, self.templates = app, limiter, per_minute, templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if self.per_minute > 0 and path.startswith(LIMITED_PATHS) and scope.get("method") != "OPTIONS":
            client = scope.get("client") or ("unknown", 0)
            verdict = await to_thread.run_sync(self.limiter.hit, "ip", str(client[0]), self.per_minute)
            if not verdict.allowed:
                if path.startswith("/api/"):
                    body = json.dumps({"error": self.templates.render("chat/too_many", {}).strip()}).encode()
                    kind = b"application/json"
                else:  # a person's browser, following a sign-in link or coming back from Amazon
                    title, _, text = self.templates.render("pages/too_many", {}).partition("|")
                    body = (f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
                            f"<h1>{html.escape(title)}</h1><p>{html.escape(text.strip())}</p>").encode()
                    kind = b"text/html; charset=utf-8"
                await too_many(send, verdict.retry_after, body, kind)
                return
        await self.app(scope, receive, send)


async def too_many(send: Send, retry_after: int, body: bytes, kind: bytes) -> None:
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", kind), (b"retry-after", str(retry_after).encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
