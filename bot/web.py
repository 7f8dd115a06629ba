"""create_app(): the web process. Assembles the routers; the logic lives in the engine and the flows.

Routers: operations (health, readiness, metrics), the in-app chat (bot/channels/inapp), Amazon's
short links and OAuth callbacks (bot/amazon/routes.py), the signed sync webhook (bot/sync), and,
with no Amazon credentials, the local Amazon stand-in under /sandbox.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.amazon.routes import amazon_router
from bot.amazon.sandbox.app import create_sandbox
from bot.app import Services, StartupError, build_services
from bot.channels.inapp.identity import IdentityConfigError, verifier_for
from bot.channels.inapp.routes import inapp_router
from bot.config import Settings
from bot.edge.errors import install_error_handlers
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

    app.include_router(operations_router(built))
    install_error_handlers(app)
    app.include_router(inapp_router(built, verifier))
    app.include_router(amazon_router(built))
    app.include_router(sync_router(built))

    if not settings.amazon_live and settings.sandbox_url == f"{settings.public_url}/sandbox":
        sandbox = create_sandbox(built.clock, redirect_uris=(built.engine.links.redirect_uri,),
                                 spapi_redirect_uri=built.engine.links.spapi_redirect_uri)
        app.state.sandbox = sandbox
        app.mount("/sandbox", sandbox.app)
    return app
