"""Sign-in links, callbacks, token exchange and profile checks against the stand-in as a real HTTP server.

What a customer notices: the link leads to the right region's page, the browser page says plainly
what happened, and the conversation explains each of Amazon's answers. What support notices: a
connection record with what Amazon listed and an encrypted grant. What must never happen: a
forged, replayed or expired callback changing anything, or a secret in a log line.
"""

from __future__ import annotations

import asyncio
import html
import logging
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from bot.amazon.client import AmazonApi
from bot.amazon.vault import TokenVault
from bot.channels.scripted_browser import Decision
from bot.loopback import Rerouted
from bot.store.rows import ATTEMPTS, CONNECTIONS, OUTBOX
from tests.conftest import TEST_TOKEN_KEY, ServicesFactory
from tests.fakes.amazon_site import PUBLIC, Site, reach_signin_link, running_site
from tests.fakes.talk import click


def _connections(site: Site) -> list[Any]:
    with site.services.db.connect() as conn:
        return list(conn.execute(select(CONNECTIONS)))


def _topics(messages: list[dict[str, Any]]) -> list[str]:
    return [m["topic"] for m in messages]


def _text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] for m in messages)


@pytest.mark.parametrize(("account", "market", "profile", "region", "host_path"), [
    ("seller", "amazon.com", "US:seller", "NA", "/amazon/na/ap/oa"),
    ("vendor", "amazon.de", "DE:vendor", "EU", "/amazon/eu/ap/oa"),
    ("seller", "amazon.co.jp", "JP:seller", "FE", "/amazon/fe/ap/oa"),
])
def test_a_customer_connects_in_each_region(make_services: ServicesFactory, account: str, market: str,
                                            profile: str, region: str, host_path: str) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services, account, market)
        attempt = site.pending()
        assert attempt.region == region
        opened = site.http.get(site.link(attempt))
        target = urlsplit(opened.headers["location"])
        query = parse_qs(target.query)
        assert opened.status_code == 302 and target.path == host_path
        assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
        assert query["scope"] == ["advertising::campaign_management"] and query["state"] == [attempt.state_token]
        assert query["redirect_uri"] == [f"{PUBLIC}/oauth/amazon/callback"]

        title, messages = site.sign_in(Decision("allow", profile))
        assert title == "Connected"
        assert messages[0]["text"].startswith("Connected:"), messages
        assert site.sandbox.calls == {"token": 1, "profiles:NA": 1, "profiles:EU": 1, "profiles:FE": 1}
        (record,) = _connections(site)
        assert (record.kind, record.region, record.account_type, record.verdict) == ("ads", region, account, "ok")
        assert record.profiles[0]["country"] == profile.split(":")[0] and record.profiles[0]["profile_id"]
        assert "Atzr|" not in record.refresh_token, "the refresh token is stored encrypted"
        assert TokenVault((TEST_TOKEN_KEY,)).decrypt(record.refresh_token).startswith("Atzr|")


@pytest.mark.parametrize(("decision", "topic", "says"), [
    (Decision("cancel"), "connect.amazon_error", "cancelled"),
    (Decision("expired_code", "DE:vendor"), "connect.amazon_error", "took too long"),
    (Decision("error", code="server_error"), "connect.amazon_error", "(server_error)"),
    (Decision("invalid_scope"), "connect.amazon_error", "Data Strategist"),
    (Decision("error", code="MD1000"), "connect.amazon_error", "Data Strategist"),
    (Decision("allow", ""), "connect.account_not_listed", "no advertising accounts"),
    (Decision("allow", "DE:seller"), "connect.account_not_listed", "only seller accounts"),
    (Decision("allow", "JP:vendor"), "connect.region", "Far East"),
    (Decision("allow", "DE:vendor:view"), "prereq.permissions", "Viewer access"),
])
def test_each_answer_from_amazon_is_explained_in_the_conversation(
        make_services: ServicesFactory, decision: Decision, topic: str, says: str) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services, "vendor", "amazon.de")
        title, messages = site.sign_in(decision)
        assert title == "Not connected yet"
        assert topic in _topics(messages)
        assert says in _text(messages)


def test_a_mixed_region_list_connects_the_region_asked_for(make_services: ServicesFactory) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services, "vendor", "amazon.de")
        title, messages = site.sign_in(Decision("allow", "US:vendor DE:vendor JP:seller FR:vendor:view"))
        assert title == "Connected" and "Germany" in messages[0]["text"]
        (record,) = _connections(site)
        assert sorted(p["country"] for p in record.profiles) == ["DE", "JP", "US"]
        assert record.marketplaces == ["DE"]


def test_a_forged_state_changes_nothing(make_services: ServicesFactory) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services)
        page = site.http.get(f"{PUBLIC}/oauth/amazon/callback?code=ANforged&state=made-up-state")
        assert page.status_code == 400 and "not valid" in page.text
        assert site.sandbox.calls == {} and _connections(site) == []
        assert site.pending().used_at is None, "the real link still works"


def test_a_replayed_callback_is_refused_and_amazon_is_called_once(make_services: ServicesFactory) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services)
        back = site.callback_url(Decision("allow", "DE:vendor"))
        first, again = site.http.get(back), site.http.get(back)
        assert first.status_code == 200 and "Connected" in first.text
        assert again.status_code == 409 and "already used" in again.text
        assert site.sandbox.calls["token"] == 1 and len(_connections(site)) == 1


def test_two_callbacks_at_once_connect_once(make_services: ServicesFactory) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services)
        back = site.callback_url(Decision("allow", "DE:vendor"))
        site.sandbox.faults.token_delay = 0.2  # both requests are in flight together
        statuses: list[int] = []

        def hit() -> None:
            with httpx.Client(transport=Rerouted(site.routes)) as client:
                statuses.append(client.get(back).status_code)

        threads = [threading.Thread(target=hit) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 409]
        assert site.sandbox.calls["token"] == 1 and len(_connections(site)) == 1


def test_an_expired_link_says_so_and_the_conversation_offers_a_fresh_one(make_services: ServicesFactory) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services)
        old = site.pending()
        before = site.services.engine.last_outbox_id(old.conversation_id)
        site.clock.advance(timedelta(minutes=31))
        page = site.http.get(site.link(old))
        assert page.status_code == 410 and "expired" in page.text and "fresh link is waiting" in page.text
        offered = site.messages_after(old.conversation_id, before)
        assert "expired" in _text(offered) and len([li for m in offered for li in m.get("links", [])]) == 1
        site.http.get(site.link(old))
        assert len(site.messages_after(old.conversation_id, before)) == len(offered), "offered once per link"
        fresh = site.pending()
        assert fresh.state_token != old.state_token
        title, _ = site.sign_in(Decision("allow", "DE:vendor"))
        assert title == "Connected"


def test_a_callback_after_the_link_expired_changes_nothing_but_offers_a_fresh_link(
        make_services: ServicesFactory) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services)
        back = site.callback_url(Decision("allow", "DE:vendor"))
        site.clock.advance(timedelta(minutes=31))
        page = site.http.get(back)
        assert page.status_code == 410
        assert site.sandbox.calls == {} and _connections(site) == []
        assert site.pending().state_token not in back, "a fresh link is pending"


def test_a_slow_token_endpoint_is_retried_then_explained(make_services: ServicesFactory) -> None:
    with running_site(make_services, amazon_timeout_seconds=0.2, amazon_attempts=2) as site:
        reach_signin_link(site.services)
        site.sandbox.faults.token_delay = 1.0
        title, messages = site.sign_in(Decision("allow", "DE:vendor"))
        assert title == "Not connected yet" and "connect.amazon_error" in _topics(messages)
        assert site.sandbox.calls["token"] == 2 and _connections(site) == []


def test_throttling_and_server_errors_are_retried_until_amazon_answers(make_services: ServicesFactory) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services)
        site.sandbox.faults.token_statuses = [429, 503]
        site.sandbox.faults.retry_after = "0"
        title, _ = site.sign_in(Decision("allow", "DE:vendor"))
        assert title == "Connected" and site.sandbox.calls["token"] == 3


def test_a_rejected_client_secret_brings_in_a_person(make_services: ServicesFactory) -> None:
    with running_site(make_services, sandbox_secret="rotated-at-amazon") as site:
        reach_signin_link(site.services)
        _, messages = site.sign_in(Decision("allow", "DE:vendor"))
        ping = next(m for m in messages if m["audience"] == "strategist")
        assert "invalid_client" in ping["text"] and ping["case"]["reason"] == "amazon_error"


def test_a_profile_list_that_is_not_json_is_retried_later_not_misread(make_services: ServicesFactory) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services)
        site.sandbox.faults.profile_body["EU"] = "<html>Service Unavailable</html>"
        title, messages = site.sign_in(Decision("allow", "DE:vendor"))
        assert title == "Not connected yet"
        assert "profiles_unavailable" in _text(messages) and "no advertising accounts" not in _text(messages)


@pytest.mark.parametrize(("query", "status", "says"), [
    ("", 400, "needs a sign-in link"),
    ("code=abc", 400, "needs a sign-in link"),
    ("state=" + "x" * 5000 + "&code=abc", 400, "not valid"),
    ("state=%ff%fe&code=abc", 400, "not valid"),
])
def test_malformed_callbacks_get_a_clear_page(make_services: ServicesFactory, query: str, status: int,
                                              says: str) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services)
        page = site.http.get(f"{PUBLIC}/oauth/amazon/callback?{query}")
        assert page.status_code == status and says in page.text and "Traceback" not in page.text
        assert _connections(site) == [] and site.pending().used_at is None


def test_a_callback_without_a_code_or_with_an_unknown_error_is_explained(make_services: ServicesFactory) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services)
        attempt = site.pending()
        page = site.http.get(f"{PUBLIC}/oauth/amazon/callback?state={attempt.state_token}")
        assert page.status_code == 200 and "Not connected yet" in page.text
        click(site.services, "Send a new link")
        fresh = site.pending()
        before = site.services.engine.last_outbox_id(fresh.conversation_id)
        site.http.get(f"{PUBLIC}/oauth/amazon/callback?state={fresh.state_token}&error=weird<script>")
        said = _text(site.messages_after(fresh.conversation_id, before))
        assert "weirdscript" in said and "<script>" not in said


def test_spapi_consent_is_exchanged_and_stored(make_services: ServicesFactory) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services, "seller", "amazon.de")
        title, messages = site.sign_in(Decision("allow", "DE:seller"))
        assert title == "Connected" and "connect.sp_api" in _topics(messages)
        attempt = site.pending()
        assert attempt.kind == "spapi"
        opened = site.http.get(site.link(attempt))
        target = urlsplit(opened.headers["location"])
        assert target.path == "/spapi/de/apps/authorize/consent"
        assert parse_qs(target.query)["version"] == ["beta"]
        title, messages = site.sign_in(Decision("allow"))
        assert title == "Connected"
        spapi = [r for r in _connections(site) if r.kind == "spapi"]
        assert len(spapi) == 1 and spapi[0].selling_partner_id and "Atzr|" not in spapi[0].refresh_token


@pytest.mark.parametrize(("code", "says"), [
    ("MD1000", "Data Strategist"),
    ("Invalid Access", "primary Seller Central user"),
])
def test_spapi_failures_are_explained(make_services: ServicesFactory, code: str, says: str) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services, "seller", "amazon.de")
        site.sign_in(Decision("allow", "DE:seller"))
        _, messages = site.sign_in(Decision("error", code=code))
        assert says in _text(messages)


def test_no_secret_reaches_a_log_line(make_services: ServicesFactory, caplog: pytest.LogCaptureFixture) -> None:
    from bot import logsafe

    with caplog.at_level(logging.DEBUG), running_site(make_services) as site:
        logsafe.install()  # as `serve` and `chat` do, now that the capturing handler is in place
        reach_signin_link(site.services)
        back = site.callback_url(Decision("allow", "DE:vendor"))
        site.http.get(back)
        site.http.get(back)  # a replay logs a warning too
        code = parse_qs(urlsplit(back).query)["code"][0]
        state = parse_qs(urlsplit(back).query)["state"][0]
    with site.services.db.connect() as conn:
        stored = str(list(conn.execute(select(OUTBOX.c.payload)))) + str(list(conn.execute(select(ATTEMPTS.c.result))))
    logged = caplog.text
    for secret in (code, state, "Atzr|", "Atza|", "sandbox-secret"):
        assert secret not in logged, f"{secret[:8]}... was logged"
    assert "Atzr|" not in stored and code not in stored


@pytest.mark.parametrize(("decision", "says"), [
    (Decision("cancel"), "cancelled on Amazon's page"),
    (Decision("allow", ""), "no advertising accounts for this login in Europe"),
    (Decision("allow", "DE:vendor:view"), "only has Viewer access"),
    (Decision("allow", "DE:vendor"), "Amazon confirmed your account"),
])
def test_the_page_the_browser_lands_on_says_what_happened_and_where_to_go(
        make_services: ServicesFactory, decision: Decision, says: str) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services)
        page = site.http.get(site.callback_url(decision))
        text = html.unescape(page.text)
        assert says in text and "Go back to the chat window on the platform" in text
        assert page.headers["referrer-policy"] == "no-referrer"


def test_a_stored_grant_still_opens_the_account_later(make_services: ServicesFactory) -> None:
    """What the encrypted refresh token is kept for: reading the account again without the customer."""
    with running_site(make_services) as site:
        reach_signin_link(site.services)
        site.sign_in(Decision("allow", "DE:vendor"))
        (record,) = _connections(site)
        api = AmazonApi(site.services.settings)

        async def read_again() -> dict[str, Any]:
            access = await api.refresh("EU", site.services.vault.decrypt(record.refresh_token))
            return {region: answer.profiles for region, answer in (await api.list_profiles(access)).items()}

        profiles = asyncio.run(read_again())
        assert [(p.country, p.type) for p in profiles["EU"]] == [("DE", "vendor")]
        assert profiles["NA"] == () and profiles["FE"] == ()
