"""A local stand-in OpenID Connect provider, for demos and tests only: at /idp when CONSOLE_OIDC_ISSUER is unset.

Like the Amazon stand-in, it answers the way a real provider's documented endpoints do: a discovery
document, a JWKS with the RSA key it signs with, an authorization endpoint (code flow, PKCE S256
required) whose page lets a person pick who to be, and a token endpoint that checks the client, the
code, the redirect URI and the PKCE verifier before it issues an RS256 ID token. Tokens carry `iat`
and `exp` in wall-clock seconds: the relying party (Authlib) checks them against the wall clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jwt.algorithms import RSAAlgorithm

STANDIN_CLIENT_ID = "connectbot-console"
STANDIN_CLIENT_SECRET = "console-standin-secret"  # the stand-in's own, printed in the README; not a real secret
CODE_LIFETIME = 60.0  # seconds
TOKEN_LIFETIME = 600  # seconds


@dataclass(frozen=True)
class Person:
    sub: str
    name: str
    email: str
    roles: tuple[str, ...]


# Who a newcomer can be: the page offers these two.
PEOPLE = {
    "alice": Person("staff-alice", "Agent Alice", "alice@example.com", ("agent",)),
    "sam": Person("staff-sam", "Strategist Sam", "sam@example.com", ("strategist",)),
}


@dataclass
class _Code:
    person: Person
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    issued: float


@dataclass
class StandinIdp:
    app: FastAPI
    issuer: str
    codes: dict[str, _Code] = field(default_factory=dict)


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def create_idp(issuer: str, redirect_uris: tuple[str, ...], templates_dir: Path,
               client_id: str = STANDIN_CLIENT_ID, client_secret: str = STANDIN_CLIENT_SECRET) -> StandinIdp:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = secrets.token_hex(8)
    public_jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    public_jwk.update(kid=kid, use="sig", alg="RS256")
    pages = Environment(loader=FileSystemLoader(templates_dir), autoescape=select_autoescape(["j2"]))
    app = FastAPI(title="Identity provider (local stand-in)", docs_url=None, redoc_url=None, openapi_url=None)
    idp = StandinIdp(app, issuer.rstrip("/"))

    def page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
        return HTMLResponse(pages.get_template(f"{name}.html.j2").render(**values), status_code=status)

    @app.get("/.well-known/openid-configuration")
    def discovery() -> dict[str, Any]:
        return {
            "issuer": idp.issuer, "authorization_endpoint": f"{idp.issuer}/authorize",
            "token_endpoint": f"{idp.issuer}/token", "jwks_uri": f"{idp.issuer}/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"], "claims_supported": ["sub", "email", "name", "roles"],
            "grant_types_supported": ["authorization_code"],
        }

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        return {"keys": [public_jwk]}

    def problem(q: dict[str, str]) -> Response | None:
        """A provider's checks, in its order: the client and return URL (shown here), then redirect-able errors."""
        if q.get("client_id") != client_id or q.get("redirect_uri") not in redirect_uris:
            return page("idp_problem", 400)
        state = _state(q)
        if q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
            return _back(q["redirect_uri"], {"error": "invalid_request", **state})
        if not q.get("code_challenge") or q.get("code_challenge_method") != "S256":
            return _back(q["redirect_uri"], {"error": "invalid_request",
                                             "error_description": "PKCE S256 is required", **state})
        return None

    @app.get("/authorize", response_model=None)
    def authorize(request: Request) -> Response:
        q = dict(request.query_params)
        return problem(q) or page("idp_pick", params=q, people=PEOPLE)

    @app.post("/authorize", response_model=None)
    async def picked(request: Request) -> Response:
        q = {k: str(v) for k, v in (await request.form()).items()}
        refused = problem(q)
        if refused is not None:
            return refused
        person = PEOPLE.get(q.get("who", ""))
        if person is None:
            return _back(q["redirect_uri"], {"error": "access_denied", **_state(q)})
        code = secrets.token_urlsafe(24)
        idp.codes[code] = _Code(person, q["client_id"], q["redirect_uri"], q["code_challenge"], q.get("nonce", ""),
                                time.monotonic())
        return _back(q["redirect_uri"], {"code": code, **_state(q)})

    @app.post("/token")
    def token(request: Request, grant_type: str = Form(""), code: str = Form(""), redirect_uri: str = Form(""),
              code_verifier: str = Form(""), form_client_id: str = Form("", alias="client_id"),
              form_client_secret: str = Form("", alias="client_secret")) -> JSONResponse:
        who, secret = _basic(request.headers.get("authorization", "")) or (form_client_id, form_client_secret)
        if who != client_id or not hmac.compare_digest(secret.encode(), client_secret.encode()):
            return _error(401, "invalid_client")
        if grant_type != "authorization_code":
            return _error(400, "unsupported_grant_type")
        issued = idp.codes.pop(code, None)  # single use, whatever happens next
        if issued is None or time.monotonic() - issued.issued > CODE_LIFETIME or issued.client_id != who:
            return _error(400, "invalid_grant")
        if issued.redirect_uri != redirect_uri or not code_verifier \
                or not hmac.compare_digest(_s256(code_verifier), issued.challenge):
            return _error(400, "invalid_grant")
        now = int(time.time())
        claims: dict[str, Any] = {"iss": idp.issuer, "sub": issued.person.sub, "aud": who, "iat": now,
                                  "exp": now + TOKEN_LIFETIME, "email": issued.person.email, "email_verified": True,
                                  "name": issued.person.name, "roles": list(issued.person.roles)}
        if issued.nonce:
            claims["nonce"] = issued.nonce
        id_token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
        return JSONResponse({"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                             "expires_in": TOKEN_LIFETIME, "id_token": id_token},
                            headers={"Cache-Control": "no-store"})

    return idp


def _state(q: dict[str, str]) -> dict[str, str]:
    """The client's state, returned with every answer that goes back to it."""
    return {"state": q["state"]} if q.get("state") else {}


def _back(redirect_uri: str, params: dict[str, str]) -> RedirectResponse:
    joiner = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{joiner}{urlencode(params)}", status_code=302)


def _error(status: int, code: str) -> JSONResponse:
    return JSONResponse({"error": code}, status_code=status, headers={"Cache-Control": "no-store"})


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        who, _, secret = base64.b64decode(value).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return unquote_plus(who), unquote_plus(secret)
