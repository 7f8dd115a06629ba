"""The public edge of the web process: refusals as short JSON, body limits, rate limits, security headers."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from bot.config import Settings
from bot.edge.body_limit import BodyLimit
from bot.edge.headers import SecurityHeaders


def install_edge(app: FastAPI, settings: Settings) -> None:
    """Middleware, innermost first: CORS for the allowed origins only, security headers, the body limit."""
    origins = settings.allowed_origins
    if origins:
        # Bearer tokens, not cookies: no credentials mode needed, and no origin but these may call the API.
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "Last-Event-ID"], max_age=600)
    app.add_middleware(SecurityHeaders, allowed_origins=origins)
    app.add_middleware(BodyLimit)
