"""The local Amazon stand-in as an ASGI app: consent pages, token endpoint, /v2/profiles per region.

Mounted at /sandbox by the embedded default when no Amazon credentials are configured, and run
as its own HTTP server by the tests. It answers the way Amazon's documented endpoints do (status
codes, JSON shapes, error codes; see shared/domain/amazon-oauth.md), and a person on its consent
page picks what "Amazon" answers. `Faults` makes it slow or failing on purpose.

Routes (relative to the mount point):
  GET/POST /amazon/{region}/ap/oa                    Login with Amazon consent (na, eu, fe)
  POST     /{region}/auth/o2/token                   token endpoint (codes are valid across regions)
  GET      /{region}/v2/profiles                     Ads API profiles of that region
  GET/POST /spapi/{market}/apps/authorize/consent    Seller/Vendor Central consent for SP-API
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.amazon.marketplaces import Region, marketplace
from bot.amazon.sandbox.grants import (
    SANDBOX_APPLICATION_ID,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    ExchangeError,
    Grant,
    Grants,
    parse_chosen,
)
from bot.clock import Clock
from bot.look import Back

KNOWN_SCOPES = ("advertising::campaign_management", "advertising::audiences",
                "advertising::test:create_account", "cpc_advertising:campaign_management")
OUTCOMES = ("allow", "cancel", "invalid_scope", "expired_code", "error")


@dataclass
class Faults:
    """Ways to make the stand-in misbehave, for tests and for trying the bot's error handling."""

    token_delay: float = 0.0
    # Statuses the token endpoint answers with before it answers normally, one per request.
    token_statuses: list[int] = field(default_factory=list)
    retry_after: str | None = None  # sent with a 429
    profile_delay: dict[str, float] = field(default_factory=dict)  # region -> seconds
    profile_status: dict[str, int] = field(default_factory=dict)  # region -> status, every request
    profile_body: dict[str, str] = field(default_factory=dict)  # region -> raw body instead of JSON


@dataclass
class Sandbox:
    app: FastAPI
    grants: Grants
    faults: Faults
    calls: dict[str, int]  # "token", "profiles:NA", ...: how often each endpoint was called


def create_sandbox(clock: Clock, *, redirect_uris: tuple[str, ...], client_id: str = SANDBOX_CLIENT_ID,
                   client_secret: str = SANDBOX_CLIENT_SECRET, application_id: str = SANDBOX_APPLICATION_ID,
                   spapi_redirect_uri: str = "", stylesheet_url: str = "", back: Back | None = None) -> Sandbox:
    grants = Grants(clock, client_id, client_secret)
    faults = Faults()
    calls: dict[str, int] = {}
    pages = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["j2"]))
    app = FastAPI(title="Amazon (local stand-in)", docs_url=None, redoc_url=None, openapi_url=None)

    def count(name: str) -> None:
        calls[name] = calls.get(name, 0) + 1

    def page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
        shown = pages.get_template(f"{name}.html.j2").render(stylesheet=stylesheet_url, back=back, **values)
        return HTMLResponse(shown, status_code=status)

    def back_to(redirect_uri: str, params: dict[str, str]) -> RedirectResponse:
        joiner = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{joiner}{urlencode(params)}", status_code=302)

    def check_region(region: str) -> str | None:
        try:
            return str(Region(region.upper()))
        except ValueError:
            return None

    # ---- Login with Amazon -----------------------------------------------------------------

    def authorize_problem(q: dict[str, str]) -> Response | None:
        """Amazon's own checks, in its order: the client, the return URL, then redirect-able errors."""
        if q.get("client_id") != client_id:
            return page("problem", 400, title="400 Bad Request", text="The client_id is not known to Amazon.")
        if q.get("redirect_uri") not in redirect_uris:
            return page("problem", 400, title="400 Bad Request",
                        text="The redirect URI you provided has not been whitelisted for your application.")
        state = {"state": q["state"]} if q.get("state") else {}
        if q.get("response_type") != "code":
            return back_to(q["redirect_uri"], {"error": "unsupported_response_type", **state})
        if q.get("scope") not in KNOWN_SCOPES:
            return back_to(q["redirect_uri"], {"error_description": "An unknown scope was requested",
                                               "error": "invalid_scope", **state})
        if q.get("code_challenge") and q.get("code_challenge_method", "plain").upper() not in ("S256", "PLAIN"):
            return back_to(q["redirect_uri"], {"error": "invalid_request", **state})
        return None

    @app.get("/amazon/{region}/ap/oa", response_model=None)
    def consent_page(region: str, request: Request) -> Response:
        q = dict(request.query_params)
        if check_region(region) is None:
            return page("problem", 404, title="Not found", text="Amazon has no sign-in page here.")
        problem = authorize_problem(q)
        if problem is not None:
            return problem
        suggested = q.get("suggest", "")
        return page("consent", region=region.upper(), hidden=q, action=str(request.url.path),
                    suggested=suggested, spapi=False)

    @app.post("/amazon/{region}/ap/oa", response_model=None)
    async def consent_decision(region: str, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        problem = authorize_problem(form)
        if problem is not None:
            return problem
        state = {"state": form["state"]} if form.get("state") else {}
        outcome = form.get("outcome", "")
        if outcome == "cancel":
            return back_to(form["redirect_uri"], {"error_description": "Access not permitted.",
                                                  "error": "access_denied", **state})
        if outcome == "invalid_scope":
            return back_to(form["redirect_uri"], {"error_description": "An unknown scope was requested",
                                                  "error": "invalid_scope", **state})
        if outcome == "error":
            code = form.get("code", "").strip() or "server_error"
            return back_to(form["redirect_uri"], {"error": code, **state})
        if outcome not in ("allow", "expired_code"):
            return page("problem", 400, title="Unknown choice", text=f"Pick one of {', '.join(OUTCOMES)}.")
        try:
            chosen = parse_chosen(form.get("profiles", ""))
        except ValueError as exc:
            return page("problem", 400, title="Check the accounts", text=str(exc))
        grant = Grant(chosen, client_id, form["redirect_uri"], form.get("code_challenge", ""),
                      form.get("code_challenge_method", "plain"), clock.now())
        code = grants.issue_code(grant, expired=outcome == "expired_code")
        return back_to(form["redirect_uri"], {"code": code, "scope": form.get("scope", ""), **state})

    @app.post("/{region}/auth/o2/token", response_model=None)
    async def token(region: str, request: Request) -> Response:
        count("token")
        if faults.token_delay:
            await asyncio.sleep(faults.token_delay)
        if faults.token_statuses:
            status = faults.token_statuses.pop(0)
            headers = {"Retry-After": faults.retry_after} if status == 429 and faults.retry_after else {}
            body = ({"message": "Too Many Requests"} if status == 429 else
                    {"error": "server_error", "error_description": "Internal Server Error"})
            return JSONResponse(body, status_code=status, headers=headers)
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            return JSONResponse(grants.exchange(form))
        except ExchangeError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)

    # ---- Ads API -------------------------------------------------------------------------------

    @app.get("/{region}/v2/profiles", response_model=None)
    async def profiles(region: str, request: Request) -> Response:
        code = check_region(region)
        if code is None:
            return JSONResponse({"code": "404", "details": "Not Found"}, status_code=404)
        count(f"profiles:{code}")
        if faults.profile_delay.get(code):
            await asyncio.sleep(faults.profile_delay[code])
        if code in faults.profile_status:
            status = faults.profile_status[code]
            return JSONResponse({"code": str(status), "details": "Internal error"}, status_code=status)
        if code in faults.profile_body:
            return Response(faults.profile_body[code], media_type="text/html")
        bearer = request.headers.get("authorization", "")
        listed = None
        if request.headers.get("amazon-advertising-api-clientid") == client_id and bearer.startswith("Bearer "):
            listed = grants.profiles(bearer.removeprefix("Bearer "), code,
                                     request.query_params.get("accessLevel", "edit"))
        if listed is None:
            return JSONResponse({"code": "401", "details": "Authentication failed",
                                 "requestId": secrets.token_hex(10).upper()}, status_code=401)
        return JSONResponse(listed)

    # ---- SP-API consent (Seller Central / Vendor Central) ---------------------------------------

    def spapi_problem(q: dict[str, str]) -> Response | None:
        if q.get("application_id") != application_id:
            return page("problem", 400, title="Error MD1000",
                        text="The application could not be authorized (unknown application_id).")
        return None

    @app.get("/spapi/{market}/apps/authorize/consent", response_model=None)
    def spapi_consent(market: str, request: Request) -> Response:
        q = dict(request.query_params)
        try:
            marketplace(market)
        except KeyError:
            return page("problem", 404, title="Not found", text="No Seller Central for this marketplace.")
        problem = spapi_problem(q)
        if problem is not None:
            return problem
        return page("consent", region=market.upper(), hidden=q, action=str(request.url.path), suggested="",
                    spapi=True)

    @app.post("/spapi/{market}/apps/authorize/consent", response_model=None)
    async def spapi_decision(market: str, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        problem = spapi_problem(form)
        if problem is not None:
            return problem
        redirect_uri = form.get("redirect_uri") or spapi_redirect_uri
        if redirect_uri not in (*redirect_uris, spapi_redirect_uri):
            return page("problem", 400, title="Error MD5101", text="The redirect URI is not registered.")
        state = {"state": form["state"]} if form.get("state") else {}
        outcome = form.get("outcome", "")
        if outcome == "cancel":
            return back_to(redirect_uri, {"error": "access_denied", **state})
        if outcome in ("error", "invalid_scope"):
            return back_to(redirect_uri, {"error": form.get("code", "").strip() or "MD9999", **state})
        partner = "A" + secrets.token_hex(6).upper()
        grant = Grant([], client_id, redirect_uri, "", "plain", clock.now(), selling_partner_id=partner)
        code = grants.issue_code(grant, expired=outcome == "expired_code")
        return back_to(redirect_uri, {"selling_partner_id": partner, "spapi_oauth_code": code, **state})

    return Sandbox(app, grants, faults, calls)
