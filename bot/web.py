"""create_app(): the web process. Assembles routes; the logic lives in the engine and the flows.

Routes in this version: health, readiness (database, migrations, worker heartbeat), Prometheus
metrics, a JSON chat endpoint for the in-app widget, the short sign-in links (/connect/{token}),
and, with no Amazon credentials, the stand-in's consent page where a person picks what Amazon answers.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text

from bot import heartbeat
from bot.amazon.standin import scripted_verdict
from bot.app import Services, build_services
from bot.config import Settings
from bot.engine import BadInput, outbound_json
from bot.metrics import registry_for
from bot.runner import UnknownChoice
from bot.store import migrate
from bot.store.db import is_sqlite
from bot.store.rows import AttemptRow
from bot.types import Channel, ConversationKey, Inbound, InboundKind
from bot.worker import run_worker

log = logging.getLogger("connectbot.web")


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

    @app.get("/connect/{token}")
    def open_link(token: str) -> Any:
        attempt = _attempt(built, token)
        if attempt is None:
            return _page(built, "link_unknown", 404)
        if attempt.used_at is not None:
            return _page(built, "link_used", 410)
        if attempt.expires_at < built.clock.now():
            return _page(built, "link_expired", 410)
        if attempt.kind == "signin":
            target = built.engine.links.signin(attempt.region, token)
        else:
            target = built.engine.links.consent(attempt.marketplaces[0] if attempt.marketplaces else "US",
                                                attempt.account_type, token)
        return RedirectResponse(target, status_code=302)

    if not settings.amazon_live:
        _mount_standin(app, built)
    return app


def _attempt(services: Services, token: str) -> AttemptRow | None:
    return services.engine.link(token)


def _page(services: Services, name: str, status: int = 200, **variables: object) -> HTMLResponse:
    """A short page for the browser; its words live in flows/templates/pages as 'title|text'."""
    title, _, body = services.engine.runner.templates.render(f"pages/{name}", variables).partition("|")
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
                        f"<h1>{html.escape(title)}</h1><p>{html.escape(body)}</p>", status_code=status)


def _mount_standin(app: FastAPI, services: Services) -> None:
    """The local Amazon stand-in's consent page: a person picks what Amazon answers."""

    def consent_page(state: str) -> HTMLResponse:
        attempt = _attempt(services, state)
        if attempt is None or attempt.used_at is not None:
            return _page(services, "link_unknown", 400)
        token = html.escape(state)
        suggested = " ".join(f"{m}:{attempt.account_type or 'seller'}" for m in attempt.marketplaces)
        return HTMLResponse(f"""<!doctype html><meta charset=utf-8><title>Amazon (local stand-in)</title>
<h1>Amazon sign-in (local stand-in)</h1>
<p>This page plays Amazon for region {html.escape(attempt.region)}. Pick what Amazon answers.</p>
<form method=post action="/sandbox/decide">
<input type=hidden name=state value="{token}">
<p><label>Accounts Amazon lists (country:type, space separated; empty for none)<br>
<input name=profiles size=50 value="{html.escape(suggested)}">
</label></p>
<p><button name=outcome value=allow>Allow</button> <button name=outcome value=cancel>Cancel</button>
<button name=outcome value=expired_code>Let the code expire</button></p>
<p><label>Error code <input name=code value="MD1000"></label> <button name=outcome value=error>Show error</button></p>
</form>""")

    @app.get("/sandbox/amazon/{region}/ap/oa")
    def amazon_consent(region: str, state: str = "") -> HTMLResponse:
        return consent_page(state)

    @app.get("/sandbox/spapi/{market}/apps/authorize/consent")
    def spapi_consent(market: str, state: str = "") -> HTMLResponse:
        return consent_page(state)

    @app.post("/sandbox/decide")
    def decide(state: str = Form(...), outcome: str = Form(...), profiles: str = Form(""),
               code: str = Form("")) -> HTMLResponse:
        attempt = _attempt(services, state)
        if attempt is None:
            return _page(services, "link_unknown", 400)
        items = [{"country": p.split(":")[0], "type": (p.split(":") + ["seller"])[1]} for p in profiles.split()]
        try:
            verdict = scripted_verdict(attempt, {"outcome": outcome, "profiles": items, "code": code})
            services.engine.complete_link(state, verdict)
        except (ValueError, BadInput) as exc:
            return _page(services, "standin_error", 400, reason=str(exc))
        return _page(services, "standin_done")
