"""POST /hooks/sync through the real app: signed reports reach the conversation once; bad ones change nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.app import Services
from bot.clock import ManualClock
from bot.store.rows import OUTBOX
from bot.sync.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.web import create_app
from tests.conftest import ServicesFactory
from tests.fakes.connections import connected_vendor, sync_row

SECRET = "test-webhook-secret"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def hooked(make_services: ServicesFactory, clock: ManualClock) -> Services:
    return make_services(clock=clock, sync_webhook_secret=SECRET)


@pytest.fixture
def client(hooked: Services) -> Iterator[TestClient]:
    with TestClient(create_app(hooked.settings, services=hooked, run_timers=False)) as test_client:
        yield test_client


def _post(client: TestClient, clock: ManualClock, body: dict[str, Any], secret: str = SECRET,
          age: timedelta = timedelta(0), headers: dict[str, str] | None = None) -> Any:
    raw = json.dumps(body).encode()
    stamp = int((clock.now() - age).timestamp())
    signed = {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, stamp, raw)}
    return client.post("/hooks/sync", content=raw, headers=signed if headers is None else headers)


def _outbox(services: Services) -> list[dict[str, Any]]:
    with services.db.connect() as conn:
        return [dict(row.payload) for row in conn.execute(select(OUTBOX.c.payload).order_by(OUTBOX.c.id))]


def _count(services: Services) -> int:
    with services.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(OUTBOX)).scalar_one())


def test_signed_reports_reach_the_customer_and_the_connection_row(hooked: Services, client: TestClient,
                                                                  clock: ManualClock) -> None:
    _, connection = connected_vendor(hooked)
    before = _count(hooked)
    started = _post(client, clock, {"connection_id": connection, "event_id": "e1", "status": "in_progress",
                                    "progress": 10})
    assert started.status_code == 200 and started.json()["messages"] == 1
    assert sync_row(hooked, connection) == ("in_progress", 10)
    done = _post(client, clock, {"connection_id": connection, "event_id": "e2", "status": "completed"})
    assert done.status_code == 200
    assert sync_row(hooked, connection) == ("completed", 100)
    told = [m for m in _outbox(hooked)[before:] if m["audience"] == "customer"]
    assert [m["topic"] for m in told] == ["sync.status", "sync.status"]
    assert "complete" in told[-1]["text"]


@pytest.mark.parametrize("case", ["unsigned", "stale", "wrong_secret", "future"])
def test_unsigned_stale_or_forged_reports_are_refused_and_change_nothing(
        hooked: Services, client: TestClient, clock: ManualClock, caplog: pytest.LogCaptureFixture,
        case: str) -> None:
    _, connection = connected_vendor(hooked)
    before = _count(hooked)
    body = {"connection_id": connection, "status": "completed"}
    with caplog.at_level(logging.WARNING, logger="connectbot.sync.webhook"):
        if case == "unsigned":
            response = _post(client, clock, body, headers={})
        elif case == "stale":
            response = _post(client, clock, body, age=timedelta(minutes=6))
        elif case == "future":
            response = _post(client, clock, body, age=-timedelta(minutes=6))
        else:
            response = _post(client, clock, body, secret="someone-else")
    assert response.status_code == 401
    assert _count(hooked) == before and sync_row(hooked, connection) == ("pending", 0)
    expected = {"unsigned": "unsigned", "stale": "stale", "future": "stale", "wrong_secret": "bad signature"}[case]
    assert expected in response.json()["error"]
    assert any(expected in r.getMessage() for r in caplog.records), "one clear log line says why"


def test_a_replayed_report_is_refused_and_the_customer_hears_it_once(hooked: Services, client: TestClient,
                                                                     clock: ManualClock) -> None:
    _, connection = connected_vendor(hooked)
    raw = json.dumps({"connection_id": connection, "status": "in_progress", "progress": 50}).encode()
    stamp = int(clock.now().timestamp())
    headers = {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(SECRET, stamp, raw)}
    before = _count(hooked)
    first = client.post("/hooks/sync", content=raw, headers=headers)
    clock.advance(timedelta(minutes=2))  # still inside the window: only the replay check can catch it
    again = client.post("/hooks/sync", content=raw, headers=headers)
    assert first.status_code == 200 and again.status_code == 409 and "replay" in again.json()["error"]
    assert _count(hooked) == before + 1


def test_unknown_connection_ids_are_refused(hooked: Services, client: TestClient, clock: ManualClock) -> None:
    connected_vendor(hooked)
    before = _count(hooked)
    response = _post(client, clock, {"connection_id": 999_999, "status": "completed"})
    assert response.status_code == 404 and "999999" in response.json()["error"]
    assert _count(hooked) == before


def test_a_status_going_backwards_is_ignored_with_a_log_line(hooked: Services, client: TestClient, clock: ManualClock,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    _, connection = connected_vendor(hooked)
    assert _post(client, clock, {"connection_id": connection, "event_id": "a", "status": "in_progress",
                                 "progress": 60}).status_code == 200
    before = _count(hooked)
    with caplog.at_level(logging.WARNING, logger="connectbot.sync.webhook"):
        back = _post(client, clock, {"connection_id": connection, "event_id": "b", "status": "in_progress",
                                     "progress": 40})
    assert back.status_code == 409 and "60% -> 40%" in back.json()["error"]
    assert sync_row(hooked, connection) == ("in_progress", 60) and _count(hooked) == before
    assert any("backwards" in r.getMessage() for r in caplog.records)
    completed = _post(client, clock, {"connection_id": connection, "event_id": "c", "status": "completed"})
    assert completed.status_code == 200
    reopened = _post(client, clock, {"connection_id": connection, "event_id": "d", "status": "in_progress",
                                     "progress": 5})
    assert reopened.status_code == 409 and "already completed" in reopened.json()["error"]
    assert sync_row(hooked, connection) == ("completed", 100)


def test_unreadable_reports_get_a_clear_error(hooked: Services, client: TestClient, clock: ManualClock) -> None:
    _, connection = connected_vendor(hooked)
    for body, field in (({"connection_id": connection, "status": "almost"}, "status"),
                        ({"connection_id": connection, "status": "in_progress", "progress": 140}, "progress"),
                        ({"status": "completed"}, "connection_id")):
        response = _post(client, clock, body)
        assert response.status_code == 422 and field in response.json()["error"]


def test_without_a_secret_the_webhook_refuses_everything(services: Services) -> None:
    with TestClient(create_app(services.settings, services=services, run_timers=False)) as client:
        response = client.post("/hooks/sync", content=b"{}", headers={TIMESTAMP_HEADER: "1", SIGNATURE_HEADER: "x"})
    assert response.status_code == 503
