"""Amazon's browser-facing routes: the short sign-in link (/connect/{token}) and the OAuth callbacks."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from bot.amazon.callback import CallbackHandler, plain_token
from bot.amazon.client import AmazonApi
from bot.app import Services
from bot.look import Back, Look

# Pages that carry a link's state must not leak it to the next site in a Referer header.
NO_REFERRER = {"Referrer-Policy": "no-referrer"}


def amazon_router(built: Services) -> APIRouter:
    router = APIRouter()
    settings = built.settings

    @router.get("/connect/{token}")
    def open_link(token: str) -> Any:
        attempt = built.engine.link(token) if plain_token(token) else None
        if attempt is None:
            return page(built, "link_unknown", 404)
        if attempt.used_at is not None:
            return page(built, "link_used", 410)
        if attempt.expires_at < built.clock.now():
            built.engine.link_expired(token)  # the conversation offers a fresh link (once per link)
            return page(built, "link_expired", 410)
        links = built.engine.links
        if attempt.kind == "signin":
            target = links.signin(attempt.region, token, attempt.code_verifier)
        else:
            target = links.consent(attempt.marketplaces[0] if attempt.marketplaces else "US",
                                   attempt.account_type, token)
        return RedirectResponse(target, status_code=302, headers=NO_REFERRER)

    callbacks = CallbackHandler(built.engine, AmazonApi(settings, built.amazon_transport), built.vault)

    async def oauth_callback(request: Request) -> HTMLResponse:
        result = await callbacks.handle({k: v for k, v in request.query_params.items()})
        channel = ""
        if result.conversation_id is not None:
            channel = await to_thread.run_sync(built.engine.conversation_channel, result.conversation_id)
        return page(built, result.name, result.status, channel=channel, verdict=result.verdict)

    # One handler: the link's own row says whether it was an Ads sign-in or an SP-API consent.
    router.add_api_route("/oauth/amazon/callback", oauth_callback, methods=["GET"], response_model=None)
    router.add_api_route("/oauth/spapi/callback", oauth_callback, methods=["GET"], response_model=None)
    return router


_LOOK = Look()
_TONES = {"callback_ok": "ok", "callback_problem": "problem", "callback_bad": "problem", "link_expired": "problem",
          "link_used": "problem", "link_unknown": "problem", "callback_no_state": "problem"}


def back_to_chat(services: Services, channel: str = "") -> Back | None:
    """The way back to the in-app conversation; Slack conversations go back to Slack, which has no URL to give."""
    url = services.settings.chat_return_url
    if url is None or channel == "slack":
        return None
    return Back(url, services.engine.runner.templates.render("pages/back", {}))


def page(services: Services, name: str, status: int = 200, **variables: object) -> HTMLResponse:
    """A short page for the browser; its words live in flows/templates/pages as 'title|text'."""
    title, _, body = services.engine.runner.templates.render(f"pages/{name}", variables).partition("|")
    back = back_to_chat(services, str(variables.get("channel", "")))
    return HTMLResponse(_LOOK.page(title, body, back, _TONES.get(name, "neutral")), status_code=status,
                        headers=NO_REFERRER)
