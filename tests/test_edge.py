"""The public endpoints hold against bad input on both databases: no 500, no echo, no unbounded body."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from bot.app import Services
from bot.channels.inapp.identity import Identity
from bot.channels.inapp.routes import event_key
from bot.sync.signature import replay_key
from bot.web import create_app
from tests.conftest import ServicesFactory
from tests.fakes.host_app import bearer, sign

MARKER = "customer-words-7f3a"  # what a customer typed: it must never come back in an error or a log line


def _client(services: Services) -> TestClient:
    client = TestClient(create_app(services.settings, services=services, run_timers=False), follow_redirects=False)
    client.headers.update(bearer(sign(services.clock)))
    return client


def test_idempotency_keys_of_different_customers_never_collide() -> None:
    a = Identity(user="b:c", org="coll", name="", email="", expires_at=None)  # type: ignore[arg-type]
    b = Identity(user="c", org="coll:b", name="", email="", expires_at=None)  # type: ignore[arg-type]
    assert event_key(a, "1") != event_key(b, "1")
    assert len(event_key(a, "x" * 200)) <= 200, "fits the processed_keys column whatever the ids"
    assert replay_key(1, "sig:abc", "") != replay_key(1, "", "abc")
    assert replay_key(1, "e" * 100 + "1", "") != replay_key(1, "e" * 100 + "2", "")


def test_customers_whose_names_join_the_same_way_keep_their_own_conversations(services: Services) -> None:
    with _client(services) as client:
        first = bearer(sign(services.clock, user="b:c", org="coll"))
        second = bearer(sign(services.clock, user="c", org="coll:b"))
        one = client.post("/api/chat/messages", headers=first, json={"client_message_id": "1", "text": "hello"})
        two = client.post("/api/chat/messages", headers=second, json={"client_message_id": "1", "text": "hello"})
        assert one.status_code == two.status_code == 200
        assert two.json()["duplicate"] is False and one.json()["conversation"] != two.json()["conversation"]


@pytest.mark.parametrize(("body", "field"), [
    ({"client_message_id": "x" * 201, "text": "hi"}, "client_message_id"),
    ({"client_message_id": "a\x00b", "text": "hi"}, "client_message_id"),
    ({"client_message_id": "\ud800", "text": "hi"}, "client_message_id"),
    ({"client_message_id": "", "text": "hi"}, "client_message_id"),
    ({"client_message_id": "m", "click": "x" * 201}, "click"),
    ({"client_message_id": "m", "text": MARKER * 2000}, "text"),
    ({"client_message_id": 5, "text": MARKER}, "client_message_id"),
])
def test_ids_and_texts_that_no_database_stores_are_refused_at_the_edge(
        services: Services, body: dict[str, object], field: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG), _client(services) as client:
        refused = client.post("/api/chat/messages", content=json.dumps(body),
                              headers={"content-type": "application/json"})
    assert refused.status_code == 422, refused.text
    assert field in refused.json()["error"]
    assert MARKER not in refused.text and "\\ud800" not in refused.text
    assert MARKER not in caplog.text


def test_nul_and_lone_surrogates_in_a_message_are_dropped_not_a_500(services: Services,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG), _client(services) as client:
        sent = client.post("/api/chat/messages", content='{"client_message_id": "m1", "text": "hi\\u0000 \\ud800'
                           + MARKER + '"}', headers={"content-type": "application/json"})
        assert sent.status_code == 200, sent.text
        assert sent.json()["messages"][0]["text"] == f"hi {MARKER}"
        bad_json = client.post("/api/chat/messages", content=b'{"text": "' + MARKER.encode() + b'\xff',
                               headers={"content-type": "application/json"})
        assert bad_json.status_code in (400, 422) and MARKER not in bad_json.text and "error" in bad_json.json()
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("after", [str(2**31), str(2**63), str(2**64), "-1", "1e3", "abc"])
def test_an_after_beyond_the_ids_is_refused(services: Services, after: str) -> None:
    with _client(services) as client:
        refused = client.get("/api/chat/messages", params={"after": after})
        assert refused.status_code == 422 and "after" in refused.json()["error"]
        assert client.get("/api/chat/messages", params={"after": str(2**31 - 1)}).status_code == 200


@pytest.mark.parametrize("token", ["a\x00b", "x" * 300, "\ud800".encode("utf-8", "surrogatepass").decode("latin-1")])
def test_link_and_callback_routes_hold_against_odd_tokens(services: Services, token: str) -> None:
    with _client(services) as client:
        opened = client.get(f"/connect/{quote(token, safe='')}")
        assert opened.status_code in (404, 422), opened.text
        for path in ("/oauth/amazon/callback", "/oauth/spapi/callback"):
            back = client.get(path, params={"state": token, "code": "c" * 5000})
            assert back.status_code < 500, back.text


def _signed(secret: str, payload: dict[str, object], now: float) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    stamp = str(int(now))
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"X-Sync-Timestamp": stamp, "X-Sync-Signature": f"sha256={digest}",
                  "content-type": "application/json"}


@pytest.mark.parametrize("payload", [
    {"connection_id": 2**31, "event_id": "e1", "status": "in_progress", "progress": 10},
    {"connection_id": 2**63, "event_id": "e1", "status": "in_progress", "progress": 10},
    {"connection_id": 1, "event_id": "e\x00" * 300, "status": "failed", "error": "x\x00y" * 1000},
])
def test_the_sync_webhook_holds_against_odd_ids(make_services: ServicesFactory, payload: dict[str, object]) -> None:
    services = make_services(sync_webhook_secret="hook-secret")
    with _client(services) as client:
        body, headers = _signed("hook-secret", payload, services.clock.now().timestamp())
        answered = client.post("/hooks/sync", content=body, headers=headers)
        assert answered.status_code in (404, 422), answered.text


def _chunks(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * 8192
        sent += 8192


def test_a_body_over_64_kb_is_refused_unread(make_services: ServicesFactory) -> None:
    with _client(make_services(sync_webhook_secret="hook-secret")) as client:
        big = client.post("/api/chat/messages", content=b"{" + b" " * 70_000 + b"}",
                          headers={"content-type": "application/json"})
        assert big.status_code == 413 and "64 KB" in big.json()["error"]
        streamed = client.post("/api/chat/messages", content=_chunks(200_000),
                               headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        assert client.post("/hooks/sync", content=_chunks(100_000)).status_code == 413
        fine = client.post("/api/chat/messages", json={"client_message_id": "m1", "text": "hi " * 5000})
        assert fine.status_code == 200


def test_pages_send_security_headers_and_cors_is_for_allowed_origins_only(make_services: ServicesFactory) -> None:
    services = make_services(inapp_allowed_origins="https://app.example.com, https://admin.example.com")
    with _client(services) as client:
        page = client.get("/")
        policy = page.headers["content-security-policy"]
        assert "frame-ancestors 'self' https://app.example.com https://admin.example.com" in policy
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        assert page.headers["x-content-type-options"] == "nosniff" and page.headers["referrer-policy"]
        assert client.get("/connect/nothing").headers["referrer-policy"] == "no-referrer"
        api = client.get("/api/chat/messages")
        assert api.headers["x-content-type-options"] == "nosniff" and "content-security-policy" not in api.headers
        asked = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
        allowed = client.options("/api/chat/messages", headers=asked)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        other = client.options("/api/chat/messages", headers={**asked, "Origin": "https://evil.example.net"})
        assert other.headers.get("access-control-allow-origin") is None
        plain = client.get("/api/chat/messages", headers={"Origin": "https://evil.example.net"})
        assert "access-control-allow-origin" not in plain.headers


def test_without_allowed_origins_no_cross_origin_call_is_allowed(services: Services) -> None:
    with _client(services) as client:
        asked = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}
        assert "access-control-allow-origin" not in client.options("/api/chat/messages", headers=asked).headers
        assert "frame-ancestors 'self'" in client.get("/").headers["content-security-policy"]


def test_api_docs_are_off_unless_asked_for(make_services: ServicesFactory) -> None:
    with _client(make_services()) as client:
        assert [client.get(p).status_code for p in ("/docs", "/redoc", "/openapi.json")] == [404, 404, 404]
    with _client(make_services(api_docs=True)) as client:
        assert [client.get(p).status_code for p in ("/docs", "/redoc", "/openapi.json")] == [200, 200, 200]


def test_metrics_can_require_a_bearer_token(make_services: ServicesFactory) -> None:
    with _client(make_services(metrics_token="scrape-token")) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer scrape-token"}).status_code == 200
    with _client(make_services()) as client:
        assert client.get("/metrics", headers={"Authorization": ""}).status_code == 200


def test_the_streams_token_never_reaches_a_log_line() -> None:
    from bot.logsafe import redact

    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl"
    line = redact(f'127.0.0.1 - "GET /api/chat/stream?token={token}&after=3 HTTP/1.1" 200')
    assert token not in line and "eyJ" not in line and "after=3" in line
    assert token not in redact(f"Authorization: Bearer {token}")
