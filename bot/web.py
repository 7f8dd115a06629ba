"""create_app(): the web process. Assembles routes; the logic lives in the engine and the flows.

Routes in this version: health, readiness (database, migrations, worker heartbeat), Prometheus
metrics, a JSON chat endpoint for the in-app widget and a page to try it, the short sign-in links
(/connect/{token}), the OAuth callbacks (/oauth/amazon/callback and /oauth/spapi/callback), the
signed sync webhook, and, with no Amazon credentials, the local Amazon stand-in under /sandbox.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text

from bot import heartbeat
from bot.amazon.callback import CallbackHandler
from bot.amazon.client import AmazonApi
from bot.amazon.sandbox.app import create_sandbox
from bot.app import Services, build_services
from bot.config import Settings
from bot.engine import BadInput, outbound_json
from bot.metrics import registry_for
from bot.runner import UnknownChoice
from bot.store import migrate
from bot.store.db import is_sqlite
from bot.store.rows import AttemptRow
from bot.sync.webhook import sync_router
from bot.types import Channel, ConversationKey, Inbound, InboundKind
from bot.worker import run_worker

log = logging.getLogger("connectbot.web")

# Pages that carry a link's state must not leak it to the next site in a Referer header.
NO_REFERRER = {"Referrer-Policy": "no-referrer"}


class ChatMessageCreate(BaseModel):
    user: str = Field(min_length=1, max_length=200)
    org: str = Field(min_length=1, max_length=200)
    client_message_id: str = Field(min_length=1, max_length=100)
    text: str | None = Field(default=None, max_length=1_000_000)
    click: str | None = Field(default=None, max_length=200)


def create_app(settings: Settings, services: Services | None = None, run_timers: bool | None = None) -> FastAPI:
    built = services or build_services(settings)
    in_process_timers = is_sqlite(settings.database_url) if run_timers is None else run_timers
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The embedded default keeps the worker loop in this process; production runs `worker:`.
        thread = None
        if in_process_timers:
            thread = threading.Thread(target=run_worker, args=(built,), kwargs={"stop": stop}, daemon=True)
            thread.start()
        yield
        stop.set()
        if thread:
            thread.join(timeout=5)
        built.db.dispose()

    app = FastAPI(title="connectbot", lifespan=lifespan)
    app.state.services = built

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"error": built.engine.runner.templates.render("pages/server_error", {})},
                            status_code=500)

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        try:
            with built.db.connect() as conn:
                conn.execute(text("SELECT 1"))
            current = migrate.is_current(built.db, settings.database_url)
            beat = heartbeat.freshest(built.db) if current else None
        except Exception as exc:  # noqa: BLE001  readiness reports, it does not raise
            return JSONResponse({"ready": False, "database": f"unreachable: {type(exc).__name__}"}, 503)
        fresh = beat is not None and built.clock.now() - beat <= timedelta(seconds=settings.worker_stale_seconds)
        worker = "fresh" if fresh else ("none" if beat is None else f"stale since {beat.isoformat()}")
        ready = current and fresh
        return JSONResponse({"ready": ready, "database": "reachable", "migrations": "current" if current else "behind",
                             "worker": worker}, 200 if ready else 503)

    metrics = registry_for(built.db, built.clock, timedelta(minutes=settings.case_overdue_after_minutes),
                           timedelta(seconds=settings.worker_stale_seconds))

    @app.get("/metrics")
    def metrics_page() -> Response:
        return Response(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    @app.post("/api/chat/messages")
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

    @app.get("/", response_class=HTMLResponse)
    def try_page() -> HTMLResponse:
        """A chat page for trying the bot: what the in-app widget does, without the host application."""
        return HTMLResponse((Path(__file__).parent / "channels" / "inapp" / "try.html").read_text())

    @app.get("/api/chat/messages")
    def list_messages(user: str = Query(min_length=1, max_length=200), org: str = Query(min_length=1, max_length=200),
                      after: int = Query(0, ge=0)) -> dict[str, Any]:
        """The customer's messages after outbox id `after`: what the widget polls for, callback results included."""
        conversation = built.engine.conversation_id_for(ConversationKey(Channel.WEBCHAT, org, user))
        if conversation is None:
            return {"conversation": None, "messages": []}
        sent = built.engine.outbox_after(conversation, after)
        return {"conversation": f"c-{conversation}",
                "messages": [{"id": i, **p} for i, p in sent if p.get("audience") == "customer"]}

    @app.get("/connect/{token}")
    def open_link(token: str) -> Any:
        attempt = _attempt(built, token)
        if attempt is None:
            return _page(built, "link_unknown", 404)
        if attempt.used_at is not None:
            return _page(built, "link_used", 410)
        if attempt.expires_at < built.clock.now():
            built.engine.link_expired(token)  # the conversation offers a fresh link (once per link)
            return _page(built, "link_expired", 410)
        links = built.engine.links
        if attempt.kind == "signin":
            target = links.signin(attempt.region, token, attempt.code_verifier)
        else:
            target = links.consent(attempt.marketplaces[0] if attempt.marketplaces else "US",
                                   attempt.account_type, token)
        return RedirectResponse(target, status_code=302, headers=NO_REFERRER)

    app.include_router(sync_router(built))
    callbacks = CallbackHandler(built.engine, AmazonApi(settings, built.amazon_transport), built.vault)

    async def oauth_callback(request: Request) -> HTMLResponse:
        page = await callbacks.handle({k: v for k, v in request.query_params.items()})
        channel = ""
        if page.conversation_id is not None:
            channel = await to_thread.run_sync(built.engine.conversation_channel, page.conversation_id)
        return _page(built, page.name, page.status, channel=channel, verdict=page.verdict)

    # One handler: the link's own row says whether it was an Ads sign-in or an SP-API consent.
    app.add_api_route("/oauth/amazon/callback", oauth_callback, methods=["GET"], response_model=None)
    app.add_api_route("/oauth/spapi/callback", oauth_callback, methods=["GET"], response_model=None)

    if not settings.amazon_live and settings.sandbox_url == f"{settings.public_url}/sandbox":
        sandbox = create_sandbox(built.clock, redirect_uris=(built.engine.links.redirect_uri,),
                                 spapi_redirect_uri=built.engine.links.spapi_redirect_uri)
        app.state.sandbox = sandbox
        app.mount("/sandbox", sandbox.app)
    return app


def _attempt(services: Services, token: str) -> AttemptRow | None:
    return services.engine.link(token)


def _page(services: Services, name: str, status: int = 200, **variables: object) -> HTMLResponse:
    """A short page for the browser; its words live in flows/templates/pages as 'title|text'."""
    title, _, body = services.engine.runner.templates.render(f"pages/{name}", variables).partition("|")
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
                        f"<h1>{html.escape(title)}</h1><p>{html.escape(body)}</p>", status_code=status,
                        headers=NO_REFERRER)
