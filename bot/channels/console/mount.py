"""Puts the console at /console, and, with no CONSOLE_OIDC_ISSUER, the stand-in identity provider at /idp."""

from __future__ import annotations

import logging

import httpx
from fastapi import FastAPI

from bot.app import Services, StartupError
from bot.channels.console.app import TEMPLATES, OidcClient, create_console
from bot.channels.console.idp import STANDIN_CLIENT_ID, STANDIN_CLIENT_SECRET, create_idp
from bot.channels.console.staff import RolesConfigError

log = logging.getLogger("connectbot.console")


def mount_console(app: FastAPI, built: Services) -> None:
    settings = built.settings
    if settings.console_oidc_issuer:
        if not (settings.console_oidc_client_id and settings.console_oidc_client_secret):
            raise StartupError("CONSOLE_OIDC_ISSUER is set: CONSOLE_OIDC_CLIENT_ID and CONSOLE_OIDC_CLIENT_SECRET "
                               "are required too")
        oidc = OidcClient(settings.console_oidc_issuer, settings.console_oidc_client_id,
                          settings.console_oidc_client_secret)
    else:
        issuer = f"{settings.public_url}/idp"
        idp = create_idp(issuer, (f"{settings.public_url}/console/callback",), TEMPLATES)
        app.state.console_idp = idp
        app.mount("/idp", idp.app)
        log.warning("console sign-in uses the local stand-in identity provider at /idp (demos and tests only): "
                    "set CONSOLE_OIDC_ISSUER for a real one")
        # The server's own calls to the stand-in (discovery, token, JWKS) stay in this process.
        oidc = OidcClient(issuer, STANDIN_CLIENT_ID, STANDIN_CLIENT_SECRET,
                          transport=httpx.ASGITransport(app=idp.app, root_path="/idp"))
    try:
        console = create_console(built, oidc, app.state.streams)
    except RolesConfigError as exc:
        raise StartupError(str(exc)) from None
    app.mount("/console", console)
