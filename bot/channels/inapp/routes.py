"""The in-app chat's HTTP face: the widget's JSON API (signed identity only) and the page to try it.

Who the customer is comes from the bearer token alone (identity.py); a `user` or `org` in a body
or query is ignored. Converts requests to Inbound events, calls the engine, and answers with
Message JSON (messages.py).
"""

# No `from __future__ import annotations`: FastAPI reads the local `Customer` dependency at definition time.
import hashlib
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, field_validator

from bot.app import Services
from bot.channels.inapp.identity import Identity, IdentityRefused, IdentityVerifier, bearer, plain_id
from bot.channels.inapp.messages import message_json
from bot.edge.errors import ApiError
from bot.edge.ratelimit import RateLimiter
from bot.engine import BadInput
from bot.render import Templates
from bot.runner import UnknownChoice
from bot.types import Channel, ConversationKey, Inbound, InboundKind

MAX_AFTER = 2**31 - 1  # transcript ids are 32-bit integers on PostgreSQL
MAX_TEXT_SENT = 20_000  # characters accepted in one message; the engine keeps the first 4,000


def _storable(value: str) -> str:
    """Text as every database stores it: lone surrogates and NUL dropped (nobody typed them)."""
    return "".join(ch for ch in value if ch != "\x00" and not "\ud800" <= ch <= "\udfff")


class ChatMessageCreate(BaseModel):
    client_message_id: str
    text: str | None = Field(default=None, max_length=MAX_TEXT_SENT)
    click: str | None = Field(default=None, max_length=200)

    @field_validator("client_message_id", mode="before")
    @classmethod
    def _id(cls, value: object) -> str:
        return plain_id(value, "client_message_id")

    # Before the str check: a lone surrogate (half an emoji cut off) would fail it, and the message is kept.
    @field_validator("text", "click", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return _storable(value) if isinstance(value, str) else value


class DevTokenRequest(BaseModel):
    user: str | None = None
    org: str | None = None
    name: str | None = Field(default=None, max_length=200)

    @field_validator("user", "org", mode="before")
    @classmethod
    def _id(cls, value: object) -> str | None:
        return None if value is None else plain_id(value, "user and org")


def event_key(identity: Identity, client_message_id: str) -> str:
    """The idempotency key of a widget message: a hash of the typed tuple, so no two customers share one."""
    typed = json.dumps(["webchat", identity.org, identity.user, client_message_id], ensure_ascii=True)
    return f"web:{hashlib.sha256(typed.encode()).hexdigest()}"


def identity_limit(limiter: RateLimiter, per_minute: int, templates: Templates) -> Callable[[Identity], None]:
    """Counts one request of a verified identity; over the limit, 429 with Retry-After."""
    def check(who: Identity) -> None:
        verdict = limiter.hit("identity", json.dumps([who.org, who.user]), per_minute)
        if not verdict.allowed:
            raise ApiError(429, templates.render("chat/too_many", {}).strip(),
                           {"Retry-After": str(verdict.retry_after)})
    return check


def inapp_router(built: Services, verifier: IdentityVerifier, limiter: RateLimiter) -> APIRouter:
    router = APIRouter()
    templates = built.engine.runner.templates
    limit_identity = identity_limit(limiter, built.settings.rate_limit_identity_per_minute, templates)

    def customer(request: Request) -> Identity:
        try:
            who = verifier.verify(bearer(request.headers.get("authorization")))
        except IdentityRefused as exc:
            raise ApiError(401, exc.reason, {"WWW-Authenticate": "Bearer"}) from None
        limit_identity(who)
        return who

    Customer = Annotated[Identity, Depends(customer)]

    @router.post("/api/chat/messages")
    def post_message(body: ChatMessageCreate, who: Customer) -> dict[str, Any]:
        if (body.text is None) == (body.click is None):
            raise ApiError(422, "send either text or click")
        key = ConversationKey(Channel.WEBCHAT, who.org, who.user)
        kind = InboundKind.SAY if body.text is not None else InboundKind.CLICK
        inbound = Inbound(kind, event_key(who, body.client_message_id), text=body.text or body.click or "",
                          data={"client_message_id": body.client_message_id})
        try:
            result = built.engine.handle(key, inbound)
        except (BadInput, UnknownChoice):
            name = "stale_choice" if kind == InboundKind.CLICK else "not_accepted"
            raise ApiError(409, templates.render(f"chat/{name}", {}).strip()) from None
        said = built.engine.said_in_turn(result.conversation_id, body.client_message_id)
        return {"conversation": result.conversation, "duplicate": result.duplicate,
                "messages": [message_json(row) for row in said]}

    @router.get("/api/chat/messages")
    def list_messages(who: Customer, after: Annotated[int, Query(ge=0, le=MAX_AFTER)] = 0) -> dict[str, Any]:
        """Both sides of the customer's conversation after message `after`: the widget's history and fallback."""
        conversation = built.engine.conversation_id_for(ConversationKey(Channel.WEBCHAT, who.org, who.user))
        if conversation is None:
            return {"conversation": None, "messages": []}
        return {"conversation": f"c-{conversation}",
                "messages": [message_json(row) for row in built.engine.said_after(conversation, after)]}

    if verifier.development:
        @router.post("/api/chat/dev-token")
        def dev_token(body: DevTokenRequest | None = None) -> dict[str, str]:
            """A development identity for the demo host page; mounted only when no secret is configured."""
            asked = body or DevTokenRequest()
            user = asked.user or f"guest-{secrets.token_hex(4)}"
            org = asked.org or "demo"
            return {"token": verifier.mint(user, org, asked.name or ""), "user": user, "org": org}

    @router.get("/", response_class=HTMLResponse)
    def try_page() -> HTMLResponse:
        """A chat page for trying the bot: what the in-app widget does, without the host application."""
        return HTMLResponse((Path(__file__).parent / "try.html").read_text())

    @router.get("/try.js")
    def try_script() -> Response:
        """The try page's script: a file of its own, since the pages' CSP allows no inline script."""
        return Response((Path(__file__).parent / "try.js").read_text(), media_type="text/javascript")

    return router
