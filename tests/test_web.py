"""The web process: chat API, short sign-in links, the built-in stand-in, health."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from bot import heartbeat
from bot.app import Services
from bot.channels.scripted_browser import Decision, ScriptedBrowser
from bot.loopback import AsyncRerouted, LocalServer, Rerouted
from bot.web import create_app
from bot.worker import run_worker
from tests.conftest import ServicesFactory
from tests.fakes.amazon_site import PUBLIC
from tests.fakes.host_app import HOST_SECRET, bearer, sign
from tests.fakes.talk import CUSTOMER


def _client(services: Services) -> TestClient:
    client = TestClient(create_app(services.settings, services=services, run_timers=False), follow_redirects=False)
    client.headers.update(bearer(sign(services.clock)))
    return client


def _post(client: TestClient, mid: str, **body: str) -> dict[str, Any]:
    response = client.post("/api/chat/messages", json={"client_message_id": mid, **body})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_a_newcomer_connects_through_the_widget_and_the_built_in_stand_in(make_services: ServicesFactory) -> None:
    """The embedded default: no Amazon credentials, the stand-in mounted at /sandbox of the same app."""
    services = make_services(base_url=PUBLIC, inapp_identity_secret=HOST_SECRET)
    outgoing = AsyncRerouted()
    services.amazon_transport = outgoing
    server = LocalServer(create_app(services.settings, services=services, run_timers=False))
    routes = {PUBLIC: server.start()}
    outgoing.routes = routes
    try:
        with httpx.Client(base_url=PUBLIC, transport=Rerouted(routes)) as http:
            identity = bearer(sign(services.clock))

            def post(mid: str, **body: str) -> dict[str, Any]:
                sent = http.post("/api/chat/messages", json={"client_message_id": mid, **body}, headers=identity)
                assert sent.status_code == 200, sent.text
                answer: dict[str, Any] = sent.json()
                return answer

            post("m1", text="hi, we're a vendor and want to connect")
            post("m2", click="Yes")
            reply = post("m3", text="amazon.de")
            link = next(li for m in reply["messages"] for li in m.get("links", []))
            assert set(link) == {"label", "url", "region"} and link["region"] == "EU"
            opened = http.get(link["url"])
            assert opened.headers["location"].startswith(f"{PUBLIC}/sandbox/amazon/eu/ap/oa?")
            page = ScriptedBrowser(http).play(link["url"], Decision("allow", "DE:vendor"))
            assert page == "Connected"
            assert http.get(link["url"]).status_code == 410, "a used link says so"
            conversation = services.engine.conversation_id_for(CUSTOMER) or 0
            said = [p["text"] for _, p in services.engine.outbox_after(conversation, 0)]
            assert any(text.startswith("Connected: Amazon lists your vendor account in Germany") for text in said)
    finally:
        server.stop()


def test_a_retried_widget_post_is_answered_once(services: Services) -> None:
    with _client(services) as client:
        first = _post(client, "same", text="how long does the first sync take")
        again = _post(client, "same", text="how long does the first sync take")
        assert first["duplicate"] is False and again["duplicate"] is True
        assert again["messages"] == first["messages"], "a retry gets the same messages, with the same ids"
        history = client.get("/api/chat/messages").json()["messages"]
        assert [m["id"] for m in history] == [m["id"] for m in first["messages"]], "the turn ran once"


def test_bad_requests_get_clear_errors(make_services: ServicesFactory) -> None:
    services = make_services(inapp_identity_secret=HOST_SECRET)
    with _client(services) as client:
        missing = client.post("/api/chat/messages", json={"text": "hi"})
        assert missing.status_code == 422 and "client_message_id" in missing.json()["error"]
        both = client.post("/api/chat/messages", json={"client_message_id": "1", "text": "a", "click": "b"})
        assert both.status_code == 422 and both.json() == {"error": "send either text or click"}
        assert client.get("/connect/not-a-real-token").status_code == 404


def test_health_and_readiness(services: Services) -> None:
    with _client(services) as client:
        assert client.get("/healthz").json() == {"ok": True}
        waiting = client.get("/readyz")
        assert waiting.status_code == 503 and waiting.json()["worker"] == "none", "no worker has run yet"
        run_worker(services, once=True)  # a worker loop that heartbeats, then says it stopped
        assert client.get("/readyz").json()["worker"] == "none", "a stopped worker does not count"
        heartbeat.beat(services.db, "w-test", services.clock.now())
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["migrations"] == "current"
        assert ready.json()["worker"] == "fresh"
        services.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
        stale = client.get("/readyz")
        assert stale.status_code == 503 and stale.json()["worker"].startswith("stale since")




def test_metrics_are_read_from_the_shared_database(services: Services) -> None:
    with _client(services) as client:
        _post(client, "m1", text="i want to talk to a person")
        _post(client, "m2", text="how long does the first sync take")
        before = _metrics(client)
        assert before["connectbot_turns_total"] == 2
        assert before["connectbot_cases_open"] == 1 and before["connectbot_cases_overdue"] == 0
        assert before['connectbot_outbox_messages{status="pending"}'] > 0
        run_worker(services, once=True)
        services.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
        after = _metrics(client)
        pending = 'connectbot_outbox_messages{status="pending"}'
        delivered = 'connectbot_outbox_messages{status="delivered"}'
        assert after[pending] == 0 and after[delivered] == before[pending]
        assert after["connectbot_outbox_oldest_pending_seconds"] == 0
        assert after["connectbot_cases_overdue"] == 1, "nobody claimed the case within 30 minutes"
        assert after['connectbot_dead_letters_total{kind="message"}'] == 0


def _metrics(client: TestClient) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {name: float(value) for name, _, value in
            (line.rpartition(" ") for line in response.text.splitlines() if line and not line.startswith("#"))}


def test_the_try_page_and_the_widget_poll_show_both_sides(services: Services) -> None:
    with _client(services) as client:
        page = client.get("/")
        assert page.status_code == 200 and "/try.js" in page.text
        assert "/api/chat/messages" in client.get("/try.js").text
        empty = client.get("/api/chat/messages").json()
        assert empty == {"conversation": None, "messages": []}
        _post(client, "m1", text="hi, we're a vendor and want to connect")
        first = client.get("/api/chat/messages").json()
        assert first["messages"][0] == {**first["messages"][0], "from": "customer", "kind": "say",
                                        "text": "hi, we're a vendor and want to connect", "client_message_id": "m1"}
        assert [m["from"] for m in first["messages"][1:]] == ["bot"] * (len(first["messages"]) - 1)
        last = first["messages"][-1]["id"]
        _post(client, "m2", click="Yes")
        newer = client.get("/api/chat/messages", params={"after": last}).json()
        ids = [m["id"] for m in newer["messages"]]
        assert ids == sorted(ids) and ids[0] > last
        assert newer["messages"][0]["kind"] == "click" and newer["messages"][0]["text"] == "Yes"
        assert "Which Amazon marketplaces" in newer["messages"][-1]["text"]
