"""Rate limits per identity and per IP, one count across every web process sharing the database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from fastapi.testclient import TestClient

from bot.app import Services
from bot.clock import ManualClock
from bot.edge.ratelimit import RateLimiter
from bot.web import create_app
from tests.conftest import ServicesFactory
from tests.fakes.host_app import bearer, sign


def _client(services: Services) -> TestClient:
    return TestClient(create_app(services.settings, services=services, run_timers=False), follow_redirects=False)


def test_an_identity_is_limited_across_web_processes(make_services: ServicesFactory) -> None:
    clock = ManualClock()
    one = make_services(clock, rate_limit_identity_per_minute=3)
    two = make_services(clock, rate_limit_identity_per_minute=3)  # a second web process on the same database
    alice = bearer(sign(clock, user="alice"))
    with _client(one) as first, _client(two) as second:
        answers = [client.get("/api/chat/messages", headers=alice).status_code for client in (first, second, first)]
        assert answers == [200, 200, 200]
        refused = second.post("/api/chat/messages", headers=alice, json={"client_message_id": "m1", "text": "hi"})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "wait a minute" in refused.json()["error"]
        stream = first.get("/api/chat/stream", params={"token": sign(clock, user="alice")})
        assert stream.status_code == 429, "opening a stream counts too"
        assert second.get("/api/chat/messages", headers=bearer(sign(clock, user="bob"))).status_code == 200
        clock.advance(timedelta(seconds=61))
        assert first.get("/api/chat/messages", headers=alice).status_code == 200, "a new minute, a new count"


def test_an_address_is_limited_on_the_api_the_links_and_the_callbacks(make_services: ServicesFactory) -> None:
    services = make_services(rate_limit_ip_per_minute=4, rate_limit_identity_per_minute=0)
    with _client(services) as client:
        token = bearer(sign(services.clock))
        assert client.get("/api/chat/messages", headers=token).status_code == 200
        assert client.get("/connect/no-such-link").status_code == 404
        assert client.get("/oauth/amazon/callback", params={"state": "nope", "code": "x"}).status_code == 400
        assert client.get("/api/chat/messages").status_code == 401, "refused requests count as well"
        page = client.get("/connect/no-such-link")
        assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
        assert "wait a minute" in page.text and page.headers["retry-after"]
        assert client.get("/oauth/spapi/callback", params={"state": "nope"}).status_code == 429
        api = client.get("/api/chat/messages", headers=token)
        assert api.status_code == 429 and "error" in api.json()
        assert client.get("/healthz").status_code == 200, "health checks are not limited"


def test_the_count_is_atomic_under_concurrent_requests(services: Services) -> None:
    limiter = RateLimiter(services.db, services.clock)
    with ThreadPoolExecutor(max_workers=8) as pool:
        verdicts = list(pool.map(lambda _: limiter.hit("identity", "acme/u1", 10), range(30)))
    assert sum(v.allowed for v in verdicts) == 10
    assert all(v.retry_after > 0 for v in verdicts if not v.allowed)
