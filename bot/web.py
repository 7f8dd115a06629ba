"""create_app(): the web process. Assembles the routers; the logic lives in the engine and the flows.

Routers: operations (health, readiness, metrics), the in-app chat (bot/channels/inapp: the widget and its
pages, the chat API), Amazon's
short links and OAuth callbacks (bot/amazon/routes.py), the signed sync webhook (bot/sync), and,
with no Amazon credentials, the local Amazon stand-in under /sandbox.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.amazon.routes import amazon_router, back_to_chat
from bot.amazon.sandbox.app import create_sandbox
from bot.app import Services, StartupError, build_services
from bot.channels.inapp.hub import StreamHub
from bot.channels.inapp.identity import IdentityConfigError, verifier_for
from bot.channels.inapp.pages import pages_router
from bot.channels.inapp.routes import identity_limit, inapp_router
from bot.channels.inapp.stream import stream_router
from bot.channels.slack.bolt import build_slack
from bot.channels.slack.routes import slack_router
from bot.config import Settings
from bot.edge import install_edge
from bot.edge.errors import install_error_handlers
from bot.edge.ratelimit import RateLimiter
from bot.look import STYLESHEET_PATH
from bot.operations import operations_router
from bot.store.db import is_sqlite
from bot.sync.webhook import sync_router
from bot.worker import run_worker

log = logging.getLogger("connectbot.web")


def create_app(settings: Settings, services: Services | None = None, run_timers: bool | None = None) -> FastAPI:
    built = services or build_services(settings)
    try:
        verifier = verifier_for(settings, built.clock)
    except IdentityConfigError as exc:
        raise StartupError(str(exc)) from None
    hub = StreamHub(built.engine, settings.inapp_stream_poll_seconds)
    in_process_timers = is_sqlite(settings.database_url) if run_timers is None else run_timers
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The embedded default keeps the worker loop in this process; production runs `worker:`.
        await hub.start()
        thread = None
        if in_process_timers:
            thread = threading.Thread(target=run_worker, args=(built,), kwargs={"stop": stop}, daemon=True)
            thread.start()
        # Everything built so far (classifier, templates, flows) lives as long as the process: kept out of the
        # collector's full passes, which would otherwise walk it and stall every request in flight.
        gc.freeze()
        yield
        if slack is not None:
            await slack.handler.drain()  # turns already acked to Slack finish before the process goes
        stop.set()
        await hub.stop()
        if thread:
            thread.join(timeout=5)
        built.db.dispose()

    docs = settings.api_docs  # the API's own description is for developers, off in production
    app = FastAPI(title="connectbot", lifespan=lifespan, docs_url="/docs" if docs else None,
                  redoc_url="/redoc" if docs else None, openapi_url="/openapi.json" if docs else None)
    app.state.services = built
    app.state.streams = hub

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"error": built.engine.runner.templates.render("pages/server_error", {})},
                            status_code=500)

    app.include_router(operations_router(built))
    limiter = RateLimiter(built.db, built.clock)
    templates = built.engine.runner.templates
    install_error_handlers(app)
    install_edge(app, settings, limiter, templates)
    # Before the chat API's router: the widget's pages own "/" (the mock platform page of the embedded default).
    app.include_router(pages_router(built, demo_page=verifier.development))
    app.include_router(inapp_router(built, verifier, limiter))
    app.include_router(stream_router(verifier, hub, built.clock, settings.inapp_keepalive_seconds,
                                     identity_limit(limiter, settings.rate_limit_identity_per_minute, templates)))
    app.include_router(amazon_router(built))
    app.include_router(sync_router(built))
    slack = build_slack(built) if settings.slack_enabled else None
    if slack is not None:
        app.state.slack = slack
        app.include_router(slack_router(slack, settings.slack_signing_secret or ""))

    if not settings.amazon_live and settings.sandbox_url == f"{settings.public_url}/sandbox":
        sandbox = create_sandbox(built.clock, redirect_uris=(built.engine.links.redirect_uri,),
                                 spapi_redirect_uri=built.engine.links.spapi_redirect_uri,
                                 stylesheet_url=STYLESHEET_PATH, back=back_to_chat(built))
        app.state.sandbox = sandbox
        app.mount("/sandbox", sandbox.app)
    return app
