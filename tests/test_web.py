"""The web process: chat API, short sign-in links, the stand-in's consent page, health."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bot.app import Services
from bot.web import create_app


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
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["migrations"] == "current"
