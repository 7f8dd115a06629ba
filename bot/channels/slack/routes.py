"""`POST /slack/events`: events, interactivity, shortcuts and slash commands, all on one URL.

The signature and its 5-minute window are checked here first, on the raw body, before bolt parses
anything (bolt parses the body before its own check, so a forged body could otherwise reach its
JSON parser); a request that fails gets 401 and nothing else runs. Bodies over 1 MB are refused.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot.channels.slack.bolt import SlackApp

log = logging.getLogger("connectbot.slack")

MAX_BODY = 1_000_000  # Slack's own payloads stay far below this


def slack_router(slack: SlackApp, signing_secret: str) -> APIRouter:
    router = APIRouter()
    verifier = SignatureVerifier(signing_secret)
    bolt_handler = AsyncSlackRequestHandler(slack.bolt)

    @router.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            log.warning("Slack request refused: body of %s bytes is over the limit", declared)
            return JSONResponse({"error": "request too large"}, status_code=413)
        raw = await request.body()
        if len(raw) > MAX_BODY:
            log.warning("Slack request refused: body of %d bytes is over the limit", len(raw))
            return JSONResponse({"error": "request too large"}, status_code=413)
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if not (timestamp.isdigit() and signature and verifier.is_valid(raw, timestamp, signature)):
            log.warning("Slack request refused: missing, forged or stale signature (from %s)",
                        request.client.host if request.client else "unknown")
            return JSONResponse({"error": "invalid request"}, status_code=401)
        retry = request.headers.get("x-slack-retry-num")
        if retry:
            log.info("Slack retry %s (%s) of an event", retry, request.headers.get("x-slack-retry-reason", "?"))
        try:
            return await bolt_handler.handle(request)
        except ValueError:  # bolt parses the (signed) body first: JSON, or a form whose payload is JSON
            log.warning("Slack request refused: a signed body that is neither JSON nor a form with a JSON payload")
            return JSONResponse({"error": "malformed request"}, status_code=400)

    return router

