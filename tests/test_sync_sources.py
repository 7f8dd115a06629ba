"""The poller against a real local status server, and the simulated platform of the embedded default."""

from __future__ import annotations

import io
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import Services
from bot.channels.jsonl import ScriptRun
from bot.clock import ManualClock
from bot.engine import BadInput
from bot.store.rows import OUTBOX
from bot.sync.poller import SyncPoller
from bot.sync.report import SyncReport
from bot.sync.simulator import SyncSimulator
from bot.sync.watch import SyncWatch
from tests.conftest import ServicesFactory
from tests.fakes.connections import connected_vendor, sync_row
from tests.fakes.sync_platform import sync_platform
from tests.fakes.talk import CUSTOMER


def _customer_topics(services: Services, after: int = 0) -> list[str]:
    with services.db.connect() as conn:
        rows = conn.execute(select(OUTBOX.c.id, OUTBOX.c.payload).order_by(OUTBOX.c.id)).all()
    return [r.payload["topic"] for r in rows if r.id > after and r.payload["audience"] == "customer"]


def _last_id(services: Services) -> int:
    with services.db.connect() as conn:
        return max((r.id for r in conn.execute(select(OUTBOX.c.id))), default=0)


def test_the_poller_reports_what_the_platform_says_once(services: Services) -> None:
    _, connection = connected_vendor(services)
    mark = _last_id(services)
    with sync_platform() as platform:
        poller = SyncPoller(services.engine, platform.status_url)
        try:
            platform.answers[connection] = {"status": "pending"}
            assert poller.poll_once() == 0
            platform.answers[connection] = {"status": "in_progress", "progress": 55}
            assert poller.poll_once() == 1
            assert poller.poll_once() == 0, "the same answer again is not news"
            assert sync_row(services, connection) == ("in_progress", 55)
            platform.answers[connection] = {"status": "completed"}
            assert poller.poll_once() == 1
            assert poller.poll_once() == 0, "a completed sync is not asked about any more"
        finally:
            poller.close()
    assert platform.requests == [f"/api/connections/{connection}/sync"] * 4
    assert _customer_topics(services, mark) == ["sync.status", "sync.status"]
    assert sync_row(services, connection) == ("completed", 100)


def test_a_failing_status_server_loses_nothing(services: Services, caplog: pytest.LogCaptureFixture) -> None:
    _, connection = connected_vendor(services)
    with sync_platform() as platform:
        poller = SyncPoller(services.engine, platform.status_url)
        try:
            platform.answers[connection] = 503
            with caplog.at_level(logging.WARNING, logger="connectbot.sync.poller"):
                assert poller.poll_once() == 0
            assert any("503" in r.getMessage() and "next round" in r.getMessage() for r in caplog.records)
            assert sync_row(services, connection) == ("pending", 0)
            platform.answers[connection] = {"status": "in_progress", "progress": "lots"}
            assert poller.poll_once() == 0
            platform.answers[connection] = {"status": "failed", "error": "Amazon throttled the report API"}
            assert poller.poll_once() == 1
        finally:
            poller.close()
    assert sync_row(services, connection) == ("failed", 0)


def test_a_poller_going_backwards_is_ignored(services: Services) -> None:
    _, connection = connected_vendor(services)
    with sync_platform() as platform:
        poller = SyncPoller(services.engine, platform.status_url)
        try:
            platform.answers[connection] = {"status": "in_progress", "progress": 70}
            assert poller.poll_once() == 1
            platform.answers[connection] = {"status": "in_progress", "progress": 30}  # a stale replica answers
            assert poller.poll_once() == 0
        finally:
            poller.close()
    assert sync_row(services, connection) == ("in_progress", 70)


def test_the_simulated_platform_moves_a_sync_to_completion(make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock=clock)
    _, connection = connected_vendor(services)
    simulator = SyncSimulator(services.engine, timedelta(minutes=10))
    mark = _last_id(services)
    seen = []
    for _ in range(12):
        simulator.step()
        seen.append(sync_row(services, connection))
        clock.advance(timedelta(minutes=1))
    assert seen[0] == ("in_progress", 0) and seen[5] == ("in_progress", 50) and seen[-1] == ("completed", 100)
    assert [p for _, p in seen] == sorted(p for _, p in seen), "progress never goes backwards"
    # Started, halfway, done: three messages for eleven reports, no spam.
    assert _customer_topics(services, mark) == ["sync.status"] * 3


def test_the_worker_picks_its_sync_source_from_settings(make_services: ServicesFactory) -> None:
    assert SyncWatch.for_services(make_services(sync_simulator=True)).name == "simulator"
    assert SyncWatch.for_services(make_services(sync_simulator=False)).name == "webhook only"
    polling = make_services(sync_status_url="http://127.0.0.1:9/api/connections/{connection_id}/sync")
    assert SyncWatch.for_services(polling).name == "poller"


def test_a_scripted_sync_reports_on_the_latest_connection(services: Services) -> None:
    _, connection = connected_vendor(services)
    out = io.StringIO()
    run = ScriptRun(services, out, key=CUSTOMER)
    code = run.feed(['{"sync": {"status": "in_progress", "progress": 60}}',
                     '{"sync": {"status": "in_progress", "progress": 20}}'])
    printed = [json.loads(line) for line in out.getvalue().splitlines()]
    assert sync_row(services, connection) == ("in_progress", 60)
    assert printed[0]["topic"] == "sync.status" and printed[-1]["line"] == 2 and "backwards" in printed[-1]["error"]
    assert code == 2



def test_racing_reports_of_one_connection_are_applied_once_and_never_backwards(services: Services) -> None:
    """Webhook retries and a poller at the same moment: each report at most once, progress never shrinks."""
    _, connection = connected_vendor(services)
    mark = _last_id(services)
    reports = [(f"k{p}", SyncReport("in_progress", p)) for p in (10, 30, 50, 70)] * 3  # every report thrice

    def deliver(item: tuple[str, SyncReport]) -> tuple[str, str]:
        try:
            result = services.engine.report_sync(connection, item[1], item[0])
        except BadInput:
            return item[0], "backwards"
        return item[0], "duplicate" if result.duplicate else "applied"

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(deliver, reports))
    applied = [key for key, outcome in outcomes if outcome == "applied"]
    assert len(applied) == len(set(applied)) and "k70" in applied, "each report at most once; the highest always"
    assert sync_row(services, connection) == ("in_progress", 70)
    told = _customer_topics(services, mark)
    assert 1 <= len(told) <= 2, "started and at most halfway: never a message per report"
