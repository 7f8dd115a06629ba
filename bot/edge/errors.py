"""Refusals at the edge as `{"error": "<short reason>"}`, and validation errors that never echo the input.

FastAPI's default 422 sends back what the client sent (a 10 MB body, a customer's message, a lone
surrogate that then fails to encode and becomes a 500 with the text in the traceback). Here a
validation error names only the field and what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.edge.body_limit import BodyTooLarge


class ApiError(Exception):
    """A refusal with its status, a short reason for the client, and headers (Retry-After, WWW-Authenticate)."""

    def __init__(self, status: int, error: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.headers = status, error, dict(headers or {})


def describe(exc: RequestValidationError) -> str:
    """Which fields are wrong and how, from pydantic's error types and messages, without the input."""
    parts: list[str] = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "header", "path"))
        message = str(error.get("msg", "is not valid"))
        if error.get("type") == "json_invalid":
            where, message = "body", "is not valid JSON"
        parts.append(f"{where or 'request'}: {message}"[:200])
    return "; ".join(parts) or "the request is not valid"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _refused(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.error}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=413, headers={"Connection": "close"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": describe(exc)}, status_code=422)
