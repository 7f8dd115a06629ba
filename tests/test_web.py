"""The web process: chat API, short sign-in links, the stand-in's consent page, health."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from bot import heartbeat
from bot.app import Services
from bot.web import create_app
from bot.worker import run_worker


def _client(services: Services) -> TestClient:
    return TestClient(create_app(services.settings, services=services, run_timers=False), follow_redirects=False)


def _post(client: TestClient, mid: str, **body: str) -> dict[str, object]:
    response = client.post("/api/chat/messages", json={"user": "u1", "org": "acme", "client_message_id": mid, **body})
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def test_widget_conversation_through_link_and_stand_in(services: Services) -> None:
    with _client(services) as client:
        _post(client, "m1", text="hi, we're a vendor and want to connect")
        _post(client, "m2", click="Yes")
        reply = _post(client, "m3", text="amazon.de")
        link = next(li for m in reply["messages"] for li in m.get("links", []))  # type: ignore[attr-defined]
        path = link["url"].removeprefix(services.settings.base_url)
        opened = client.get(path)
        assert opened.status_code == 302 and "/sandbox/amazon/eu/ap/oa" in opened.headers["location"]
        page = client.get(opened.headers["location"].removeprefix(services.settings.base_url))
        assert "Allow" in page.text
        token = path.rsplit("/", 1)[1]
        done = client.post("/sandbox/decide", data={"state": token, "outcome": "allow", "profiles": "DE:vendor"})
        assert done.status_code == 200 and "Go back to the chat" in done.text
        assert client.get(path).status_code == 410, "a used link says so"


def test_a_retried_widget_post_is_answered_once(services: Services) -> None:
    with _client(services) as client:
        first = _post(client, "same", text="how long does the first sync take")
        again = _post(client, "same", text="how long does the first sync take")
        assert first["messages"] and again["duplicate"] is True and again["messages"] == []


def test_bad_requests_get_clear_errors(services: Services) -> None:
    with _client(services) as client:
        assert client.post("/api/chat/messages", json={"user": "u1"}).status_code == 422
        both = client.post("/api/chat/messages", json={"user": "u", "org": "o", "client_message_id": "1",
                                                       "text": "a", "click": "b"})
        assert both.status_code == 422
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
