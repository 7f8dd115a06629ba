"""The in-app chat's HTTP face: the widget's JSON API and the page to try it. Converts and calls the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from bot.app import Services
from bot.engine import BadInput, outbound_json
from bot.runner import UnknownChoice
from bot.types import Channel, ConversationKey, Inbound, InboundKind


class ChatMessageCreate(BaseModel):
    user: str = Field(min_length=1, max_length=200)
    org: str = Field(min_length=1, max_length=200)
    client_message_id: str = Field(min_length=1, max_length=100)
    text: str | None = Field(default=None, max_length=1_000_000)
    click: str | None = Field(default=None, max_length=200)


def inapp_router(built: Services) -> APIRouter:
    router = APIRouter()

    @router.post("/api/chat/messages")
    def post_message(body: ChatMessageCreate) -> dict[str, Any]:
        key = ConversationKey(Channel.WEBCHAT, body.org, body.user)
        if (body.text is None) == (body.click is None):
            raise HTTPException(422, "send either text or click")
        inbound = (Inbound(InboundKind.SAY, f"web:{body.org}:{body.user}:{body.client_message_id}", text=body.text)
                   if body.text is not None else
                   Inbound(InboundKind.CLICK, f"web:{body.org}:{body.user}:{body.client_message_id}",
                           text=body.click or ""))
        try:
            result = built.engine.handle(key, inbound)
        except (BadInput, UnknownChoice) as exc:
            raise HTTPException(422, str(exc)) from None
        return {"conversation": result.conversation, "duplicate": result.duplicate,
                "messages": [outbound_json(m) for m in result.messages if m.audience.value == "customer"]}

    @router.get("/", response_class=HTMLResponse)
    def try_page() -> HTMLResponse:
        """A chat page for trying the bot: what the in-app widget does, without the host application."""
        return HTMLResponse((Path(__file__).parent / "try.html").read_text())

    @router.get("/api/chat/messages")
    def list_messages(user: str = Query(min_length=1, max_length=200), org: str = Query(min_length=1, max_length=200),
                      after: int = Query(0, ge=0)) -> dict[str, Any]:
        """The customer's messages after outbox id `after`: what the widget polls for, callback results included."""
        conversation = built.engine.conversation_id_for(ConversationKey(Channel.WEBCHAT, org, user))
        if conversation is None:
            return {"conversation": None, "messages": []}
        sent = built.engine.outbox_after(conversation, after)
        return {"conversation": f"c-{conversation}",
                "messages": [{"id": i, **p} for i, p in sent if p.get("audience") == "customer"]}

    return router
