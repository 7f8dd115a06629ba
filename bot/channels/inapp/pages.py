"""What a browser loads for the in-app chat: widget.js and its CSS, the pages' stylesheet, and, in the
embedded default, a mock platform page at / with the widget embedded, so `make run` shows what a customer sees.

The widget's words are rendered from flows/templates/widget/strings.j2 into widget.js once, when the
router is built (templates do not change while the process runs).
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from bot.app import Services
from bot.look import STYLESHEET_PATH, stylesheet

WIDGET_DIR = Path(__file__).parent / "widget"
STRINGS_SLOT = "__CONNECTBOT_STRINGS__"
# Short enough that a fix reaches host pages within minutes, long enough that each page view is not a request.
CACHE = {"Cache-Control": "public, max-age=300"}


def widget_script(built: Services) -> str:
    """widget.js with its strings filled in; the template must render to a JSON object (checked here, at start)."""
    strings = json.loads(built.engine.runner.templates.render("widget/strings", {}))
    if not isinstance(strings, dict):
        raise ValueError("flows/templates/widget/strings.j2 must render to a JSON object")
    source = (WIDGET_DIR / "widget.js").read_text()
    return source.replace(STRINGS_SLOT, json.dumps(strings, ensure_ascii=True))


def pages_router(built: Services, demo_page: bool) -> APIRouter:
    router = APIRouter()
    script = widget_script(built)
    css = (WIDGET_DIR / "widget.css").read_text()
    look = stylesheet()

    @router.get("/widget.js", include_in_schema=False)
    def widget_js() -> Response:
        return Response(script, media_type="text/javascript", headers=CACHE)

    @router.get("/widget.css", include_in_schema=False)
    def widget_css() -> Response:
        return Response(css, media_type="text/css", headers=CACHE)

    @router.get(STYLESHEET_PATH, include_in_schema=False)
    def page_css() -> Response:
        return Response(look, media_type="text/css", headers=CACHE)

    if demo_page:
        host_page = built.engine.runner.templates.render("demo/host.html", {})
        host_js = (WIDGET_DIR / "demo-host.js").read_text()
        host_css = (WIDGET_DIR / "demo-host.css").read_text()

        @router.get("/", response_class=HTMLResponse, include_in_schema=False)
        def mock_platform() -> HTMLResponse:
            """A stand-in for the platform that embeds the widget, signed in with a development identity."""
            return HTMLResponse(host_page)

        @router.get("/demo/host.js", include_in_schema=False)
        def demo_js() -> Response:
            return Response(host_js, media_type="text/javascript")

        @router.get("/demo/host.css", include_in_schema=False)
        def demo_css() -> Response:
            return Response(host_css, media_type="text/css")

    return router
