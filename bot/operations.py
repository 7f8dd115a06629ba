"""Health, readiness (database, migrations, a fresh worker heartbeat) and Prometheus metrics."""

from __future__ import annotations

import hmac
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from bot import heartbeat
from bot.app import Services
from bot.metrics import registry_for
from bot.store import migrate


def operations_router(built: Services) -> APIRouter:
    router = APIRouter()
    settings = built.settings

    @router.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @router.get("/readyz")
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

    @router.get("/metrics")
    def metrics_page(request: Request) -> Response:
        if settings.metrics_token and not _bearer_is(request.headers.get("authorization"), settings.metrics_token):
            return JSONResponse({"error": "metrics need Authorization: Bearer <METRICS_TOKEN>"}, 401,
                                headers={"WWW-Authenticate": "Bearer"})
        return Response(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    return router


def _bearer_is(authorization: str | None, token: str) -> bool:
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
