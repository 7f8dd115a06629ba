"""The support console as an ASGI app mounted at /console: sign-in, the queue, a conversation and its actions.

Sign-in is OpenID Connect's code flow through Authlib (discovery, PKCE S256, state and nonce kept in the
session and checked on the way back, the ID token's signature, issuer, audience and expiry checked).
Every POST carries the session's CSRF token; every action goes through the engine as the inbound a
script or Slack would send, so the case records who and when and the Slack card follows.
"""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass
from datetime import UTC, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.middleware.sessions import SessionMiddleware

from bot.app import Services
from bot.channels.console import report, views
from bot.channels.console.facts import journey_facts
from bot.channels.console.live import ConsoleFeed, add_live_routes
from bot.channels.console.report import snapshot
from bot.channels.console.staff import ENDED, Staff, csrf_ok, current, parse_roles, role_of, start_session
from bot.channels.console.timeline import journey
from bot.channels.inapp.hub import StreamHub
from bot.clock import as_utc
from bot.engine import BadInput
from bot.runner import UnknownChoice
from bot.types import Inbound, InboundKind
from flows.handoff import RETURN_STEPS

with warnings.catch_warnings():
    # Authlib 1.9 warns, once at import, that it would rather use the "httpx2" package; it works with httpx,
    # which the whole service uses, and the warning would otherwise reach every command's stderr. Its own
    # module installs an "always" filter when imported, so that import comes first and ours goes on top.
    from authlib.deprecate import AuthlibDeprecationWarning
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.starlette_client import OAuth, OAuthError

TEMPLATES = Path(__file__).resolve().parents[3] / "flows" / "templates" / "console"
STYLESHEET = Path(__file__).with_name("console.css")
MAX_NOTE = 4000


@dataclass(frozen=True)
class OidcClient:
    issuer: str
    client_id: str
    client_secret: str
    transport: httpx.AsyncBaseTransport | None = None  # the embedded stand-in is called in process


def _local(public_url: str) -> bool:
    return (urlsplit(public_url).hostname or "") in ("localhost", "127.0.0.1", "::1")


def create_console(built: Services, oidc: OidcClient, hub: StreamHub) -> FastAPI:
    settings = built.settings
    roles = parse_roles(settings.console_roles)
    lifetime = timedelta(hours=settings.console_session_hours)
    pages = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2"]))
    pages.globals["poll_seconds"] = settings.console_poll_seconds  # live.js reads it from the page
    callback = f"{settings.public_url}/console/callback"
    oauth = OAuth()
    client_kwargs: dict[str, Any] = {"scope": "openid email profile", "code_challenge_method": "S256"}
    if oidc.transport is not None:
        client_kwargs["transport"] = oidc.transport
    oauth.register("staff", client_id=oidc.client_id, client_secret=oidc.client_secret,
                   server_metadata_url=f"{oidc.issuer.rstrip('/')}/.well-known/openid-configuration",
                   client_kwargs=client_kwargs)
    provider = oauth.create_client("staff")
    app = FastAPI(title="connectbot console", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SessionMiddleware, secret_key=settings.console_session_secret or secrets.token_urlsafe(32),
                       session_cookie="connectbot_console", max_age=int(lifetime.total_seconds()), path="/console",
                       same_site="lax", https_only=not _local(settings.public_url))

    def page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
        shown = pages.get_template(f"{name}.html.j2").render(**values)
        return HTMLResponse(shown, status_code=status, headers={"Cache-Control": "no-store"})

    def who(request: Request) -> Staff | None:
        return current(request.session, built.clock.now(), lifetime)

    def to_sign_in() -> RedirectResponse:
        return RedirectResponse("/console/login", status_code=303)

    @app.get("/console.css", include_in_schema=False)
    def stylesheet() -> FileResponse:
        return FileResponse(STYLESHEET, media_type="text/css", headers={"Cache-Control": "no-cache"})

    @app.get("/login", response_model=None)
    async def login(request: Request, again: str = "") -> Response:
        # The sign-in state lives in a cookie of the host the browser used, and the IdP sends the browser back
        # to BASE_URL's host: someone who opened http://localhost:8000 with BASE_URL at 127.0.0.1 would come
        # back without it and be refused. So sign-in always starts on BASE_URL's own host.
        if request.url.netloc != urlsplit(settings.public_url).netloc:
            return RedirectResponse(f"{settings.public_url}/console/login", status_code=303)
        who(request)  # a sign-in past its lifetime is marked ended here too, whichever request saw it first
        if request.session.get(ENDED) and not again:  # say why first; the page's button comes back with again=1
            return page("session_ended", hours=settings.console_session_hours)
        return await provider.authorize_redirect(request, callback)  # type: ignore[no-any-return]

    @app.get("/callback", response_model=None)
    async def signed_in(request: Request) -> Response:
        try:
            token = await provider.authorize_access_token(request)
        except (OAuthError, httpx.HTTPError, ValueError):
            return page("refused", 400, reason="sign_in_failed")
        claims = dict(token.get("userinfo") or {})
        role = role_of(claims, roles)
        if role is None:
            request.session.clear()
            return page("refused", 403, reason="no_role")
        staff = Staff(str(claims.get("sub", "")), str(claims.get("name") or claims.get("email") or ""),
                      str(claims.get("email") or ""), role)
        start_session(request.session, staff, built.clock.now())
        return RedirectResponse("/console/", status_code=303)

    @app.post("/logout", response_model=None)
    async def logout(request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(request.session, str(form.get("csrf") or "")):
            return page("refused", 403, reason="csrf")
        request.session.clear()
        return page("signed_out")

    @app.get("/", response_model=None)
    def queue_page(request: Request, channel: str = "", org: str = "", step: str = "", account_type: str = "",
                   q: str = "") -> Response:
        me = who(request)
        if me is None:
            return to_sign_in()
        filters = views.Filters(channel, org[:200], step[:120], account_type[:16], q[:200])
        cases, live = views.queue(built.db, filters, me.name, built.clock.now())
        return page("queue", me=me, cases=cases, live=live, filters=filters, csrf=request.session["csrf"])

    @app.get("/report", response_model=None)
    def report_page(request: Request, by: str = "all") -> Response:
        me = who(request)
        if me is None:
            return to_sign_in()
        now = built.clock.now()
        kept = snapshot.served(built.db, by, now, settings.report_refresh_seconds)
        shown = kept.report
        return page("report", me=me, csrf=request.session["csrf"], by=shown.by, groups=report.GROUPS,
                    stages=report.STAGES, ratings=report.RATINGS, figures=report.FIGURES, report=shown,
                    rows=shown.funnel, as_of=kept.as_of, now_date=as_utc(now).astimezone(UTC).date(),
                    refresh_seconds=settings.report_refresh_seconds)

    @app.get("/report.csv", response_model=None)
    def report_csv(request: Request, by: str = "all", figure: str = "funnel") -> Response:
        if who(request) is None:
            return to_sign_in()
        kept = snapshot.served(built.db, by, built.clock.now(), settings.report_refresh_seconds)
        figure = figure if figure in report.FIGURES else "funnel"
        # the columns stay the figures'; when they were computed travels in the header
        return Response(report.as_csv(kept.report, figure), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{figure}-{kept.report.by}.csv"',
                                 "Last-Modified": format_datetime(kept.as_of, usegmt=True),
                                 "Cache-Control": "no-store"})

    @app.get("/c/{conversation_id}", response_model=None)
    def conversation_page(request: Request, conversation_id: int) -> Response:
        me = who(request)
        if me is None:
            return to_sign_in()
        shown = views.conversation(built.db, conversation_id)
        if shown is None:
            return page("refused", 404, reason="not_found")
        return page("conversation", me=me, c=shown, csrf=request.session["csrf"], steps=list(RETURN_STEPS),
                    once=secrets.token_urlsafe(16), timeline=journey(shown, built.clock.now()),
                    facts=journey_facts(shown.slots))

    @app.post("/c/{conversation_id}/{action}", response_model=None)
    async def act(request: Request, conversation_id: int, action: str) -> Response:
        me = who(request)
        if me is None:
            return to_sign_in()
        form = await request.form()
        if not csrf_ok(request.session, str(form.get("csrf") or "")):
            return page("refused", 403, reason="csrf")
        if action not in ("handoff", "claim", "reply", "return", "resolve"):
            return page("refused", 404, reason="not_found")
        if not me.may(action):
            return page("refused", 403, reason="role")
        key = built.engine.conversation_key(conversation_id)
        once = str(form.get("once") or "")
        if key is None or not 8 <= len(once) <= 64:
            return page("refused", 400, reason="bad_form")
        text = str(form.get("text") or "")[:MAX_NOTE].strip()
        if action == "reply" and not text:
            return page("refused", 400, reason="empty_reply")
        data: dict[str, Any] = {"action": action, "by": me.name}
        if action == "handoff":
            data["note"] = text
        elif action == "reply":
            data["text"] = text
        elif action == "return":
            step = str(form.get("to_step") or "")
            data["to_step"] = step if step in RETURN_STEPS else ""
        kind = InboundKind.AGENT if action == "handoff" else InboundKind.STRATEGIST
        # The form's one-time token makes the idempotency key: a double submit is handled once.
        inbound = Inbound(kind, f"console:{conversation_id}:{action}:{once}", text=text, data=data)
        try:
            await to_thread.run_sync(built.engine.handle, key, inbound)
        except (BadInput, UnknownChoice):
            return page("refused", 409, reason="not_now")
        return RedirectResponse(f"/console/c/{conversation_id}", status_code=303)

    add_live_routes(app, ConsoleFeed(hub), built.clock, settings.inapp_keepalive_seconds, lifetime, who, to_sign_in)
    return app
