"""The public edge of the web process: refusals as short JSON, body limits, rate limits, security headers."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from bot.config import Settings
from bot.edge.body_limit import BodyLimit
from bot.edge.headers import SecurityHeaders
from bot.edge.ratelimit import IpRateLimit, RateLimiter
from bot.render import Templates


def install_edge(app: FastAPI, settings: Settings, limiter: RateLimiter, templates: Templates) -> None:
    """Middleware, innermost first: the per-IP rate limit, security headers, the body limit (nothing reads
    a body it refuses), and CORS outermost, so the allowed origins can read even a 413 or a 429."""
    origins = settings.allowed_origins
    app.add_middleware(IpRateLimit, limiter=limiter, per_minute=settings.rate_limit_ip_per_minute,
                       templates=templates)
    app.add_middleware(SecurityHeaders, allowed_origins=origins)
    app.add_middleware(BodyLimit)
    if origins:
        # Bearer tokens, not cookies: no credentials mode needed, and no origin but these may call the API.
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
                           expose_headers=["Retry-After"], max_age=600)
