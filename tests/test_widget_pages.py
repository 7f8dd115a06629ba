"""What a browser loads around the chat: widget.js with its words, the mock platform page, and the look,
viewport and way back of the callback and stand-in pages. (The widget's behaviour: tests/test_widget_browser.py.)"""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient

from bot.app import Services
from bot.channels.scripted_browser import Decision
from bot.web import create_app
from tests.conftest import ServicesFactory
from tests.fakes.amazon_site import PUBLIC, reach_signin_link, running_site
from tests.fakes.talk import say

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def _client(services: Services) -> TestClient:
    return TestClient(create_app(services.settings, services=services, run_timers=False), follow_redirects=False)


def _strings() -> dict[str, object]:
    from bot.app import build_runner
    from bot.config import load_settings
    rendered: dict[str, object] = json.loads(build_runner(load_settings()).templates.render("widget/strings", {}))
    return rendered


def test_widget_js_carries_the_words_of_its_template(services: Services) -> None:
    with _client(services) as client:
        script = client.get("/widget.js")
        css = client.get("/widget.css")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "__CONNECTBOT_STRINGS__" not in script.text
    filled = re.search(r"const STRINGS = (\{.*?\});", script.text)
    assert filled is not None and json.loads(filled.group(1)) == _strings()
    assert "Data Strategist" in filled.group(1) and "innerHTML" not in script.text
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css") and ":host" in css.text


def test_the_embedded_default_shows_a_mock_platform_with_the_widget(make_services: ServicesFactory) -> None:
    with _client(make_services(inapp_identity_secret=None)) as client:
        page = client.get("/")
        host = client.get("/demo/host.js")
    assert page.status_code == 200 and VIEWPORT in page.text
    assert "Connect your Amazon account" in page.text and '<script src="/widget.js"></script>' in page.text
    assert "<script>" not in page.text, "no inline script: the page works under a strict Content-Security-Policy"
    assert host.status_code == 200 and "/api/chat/dev-token" in host.text


def test_with_a_host_secret_or_amazon_configured_there_is_no_mock_platform(services: Services,
                                                                          make_services: ServicesFactory) -> None:
    live = make_services(amazon_client_id="id", amazon_client_secret="secret",
                             amazon_redirect_uri=f"{PUBLIC}/oauth/amazon/callback", spapi_application_id="app")
    with _client(services) as client:
        assert "Brightlane" not in client.get("/").text, "a real identity secret: no development identities to show"
    with _client(live) as client:
        assert "Brightlane" not in client.get("/").text
        assert client.get("/widget.js").status_code == 200


@pytest.mark.parametrize(("decision", "title"), [(Decision("allow", "DE:vendor"), "Connected"),
                                                 (Decision("cancel"), "Not connected yet")])
def test_the_callback_page_fits_a_phone_and_leads_back_to_the_conversation(
        make_services: ServicesFactory, decision: Decision, title: str) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services)
        page = site.http.get(site.callback_url(decision))
    assert VIEWPORT in page.text and '<link rel="stylesheet" href="/look/page.css">' in page.text
    assert f"<h1>{title}</h1>" in page.text
    assert f'<a class="button" href="{PUBLIC}/#connectbot">Back to the conversation</a>' in page.text


def test_the_way_back_follows_inapp_return_url(make_services: ServicesFactory) -> None:
    with running_site(make_services, inapp_return_url="https://app.example/dashboard#chat") as site:
        reach_signin_link(site.services)
        page = site.http.get(site.callback_url(Decision("allow", "DE:vendor")))
    assert 'href="https://app.example/dashboard#chat"' in page.text


def test_link_pages_escape_their_words_and_keep_the_look(services: Services) -> None:
    with _client(services) as client:
        page = client.get("/connect/not-a-token")
        css = client.get("/look/page.css")
    assert page.status_code == 404 and VIEWPORT in page.text and "Back to the conversation" in page.text
    assert "<h1>This sign-in link is not valid</h1>" in html.unescape(page.text)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_the_built_in_stand_in_pages_share_the_look(services: Services) -> None:
    with _client(services) as client:
        consent = client.get("/sandbox/amazon/eu/ap/oa", params={"client_id": "nobody"})
    assert consent.status_code == 400 and VIEWPORT in consent.text
    assert 'href="/look/page.css"' in consent.text and "Back to the conversation" in consent.text


@pytest.mark.parametrize(("starter", "topic"), [("Connect my Amazon account", "connect."),
                                               ("Is my account connected?", "sync.status"),
                                               ("Talk to a person", "handoff.request")])
def test_the_greetings_ways_to_start_are_understood(services: Services, starter: str, topic: str) -> None:
    starters = _strings()["starters"]
    assert isinstance(starters, list) and starter in starters and len(starters) == 3
    result = say(services, starter)
    assert result.messages and result.messages[0].topic.value.startswith(topic)
