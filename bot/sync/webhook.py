"""POST /hooks/sync: the platform's signed first-sync reports, keyed by connection id.

Body: {"connection_id": 12, "event_id": "evt-1", "status": "in_progress", "progress": 40, "error": ""}.
Answers: 200 accepted; 401 unsigned, stale or badly signed; 404 unknown connection; 409 replayed
or going backwards (final: retrying cannot help); 422 unreadable; 503 when no secret is configured.
Every refusal is one log line saying why; nothing is written for a refused request.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.app import Services
from bot.engine import SyncRegression, UnknownConnection
from bot.sync.report import ReportInvalid, parse_report
from bot.sync.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureRejected, replay_key, verify

log = logging.getLogger("connectbot.sync.webhook")
MAX_BODY = 64 * 1024
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def sync_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.post("/hooks/sync")
    async def sync_hook(request: Request) -> JSONResponse:
        secret = services.settings.sync_webhook_secret
        if not secret:
            log.warning("sync webhook refused: SYNC_WEBHOOK_SECRET is not set")
            return _refuse(503, "the sync webhook is not configured on this server")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _refuse(413, f"body larger than {MAX_BODY} bytes")
        signature = request.headers.get(SIGNATURE_HEADER)
        try:
            verify(secret, request.headers.get(TIMESTAMP_HEADER), signature, body, services.clock.now())
        except SignatureRejected as exc:
            log.warning("sync webhook rejected: %s", exc)
            return _refuse(401, str(exc))
        try:
            payload = json.loads(body)
            connection_id = _connection_id(payload)
            report = parse_report(payload)
        except (ValueError, ReportInvalid) as exc:
            log.warning("sync webhook rejected: unreadable report: %s", exc)
            return _refuse(422, str(exc))
        key = replay_key(connection_id, str(payload.get("event_id") or ""), signature or "")
        try:
            result = await run_in_threadpool(services.engine.report_sync, connection_id, report, key)
        except UnknownConnection as exc:
            log.warning("sync webhook rejected: %s", exc)
            return _refuse(404, str(exc))
        except SyncRegression as exc:
            log.warning("sync webhook ignored: %s", exc)
            return _refuse(409, str(exc))
        if result.duplicate:
            log.warning("sync webhook rejected: replay of %s (already processed)", key)
            return _refuse(409, "already processed (replay)")
        log.info("sync webhook accepted connection=%s status=%s progress=%s conversation=%s messages=%d",
                 connection_id, report.status, report.progress, result.conversation, len(result.messages))
        return JSONResponse({"accepted": True, "conversation": result.conversation, "messages": len(result.messages)})

    return router


def _connection_id(payload: Any) -> int:
    value = payload.get("connection_id") if isinstance(payload, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise ReportInvalid(f"connection_id must be a whole number from 1 to {MAX_ID}")
    return value


def _refuse(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"accepted": False, "error": reason}, status_code=status)
