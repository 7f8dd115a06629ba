"""The report as staff see it: figures the worker computed ahead, exactly the figures counted from the rows, and
honest about their age (what happened since shows at the next refresh; the page says when they were computed)."""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Services
from bot.channels.console.report import FIGURES, GROUPS
from bot.channels.console.report.refresh import LEASE, refresh_if_due, take_turn
from bot.channels.console.report.snapshot import SNAPSHOTS
from bot.channels.jsonl import ScriptRun
from bot.clock import ManualClock
from bot.worker import run_worker
from tests.conftest import ServicesFactory
from tests.fakes.app_server import serving
from tests.fakes.staff_browser import PUBLIC
from tests.fakes.staff_browser import staff_browser as browser
from tests.test_console_report import SCRIPT, _expected_csvs

MINUTE = 60.0
NEWCOMER: list[dict[str, Any]] = [
    {"user": {"id": "h1", "org": "harbor", "channel": "slack"}},
    {"say": "we're a vendor on amazon.fr and want to connect"},
]


def _feed(services: Services, lines: list[dict[str, Any]]) -> None:
    assert ScriptRun(services, io.StringIO()).feed(json.dumps(line) for line in lines) == 0


def _as_of(services: Services) -> str:
    now = services.clock.now()
    return f'Figures as of <time datetime="{now.isoformat()}">{now:%H:%M} UTC</time>'


def test_after_a_refresh_the_page_and_every_csv_show_the_figures_counted_from_the_rows(
        make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock=clock, base_url=PUBLIC)
    _feed(services, SCRIPT)
    assert refresh_if_due(services.db, clock, "worker-1", MINUTE) is not None
    refreshed_at = _as_of(services)
    with serving(services) as origin, browser(origin) as alice:
        alice.sign_in("alice")

        def download(by: str, figure: str) -> list[list[str]]:
            return list(csv.reader(io.StringIO(
                alice.http.get("/console/report.csv", params={"by": by, "figure": figure}).text)))

        for by in GROUPS:
            expected = _expected_csvs(services, by)
            for figure in FIGURES:
                assert download(by, figure)[1:] == expected[figure], (by, figure)
        page = alice.http.get("/console/report").text
        assert refreshed_at in page and "refreshed every minute" in page
        assert download("all", "funnel")[1][1] == "7"

        # a journey after the snapshot: not in the figures yet, and the page still says when they are from
        clock.advance(timedelta(seconds=30))
        _feed(services, NEWCOMER)
        assert refresh_if_due(services.db, clock, "worker-1", MINUTE) is None, "not due for another 30 seconds"
        assert download("all", "funnel")[1][1] == "7"
        assert download("channel", "funnel")[1][:2] == ["slack", "2"]
        assert refreshed_at in alice.http.get("/console/report").text

        clock.advance(timedelta(seconds=31))
        assert refresh_if_due(services.db, clock, "worker-1", MINUTE) is not None
        for by in GROUPS:
            assert download(by, "funnel")[1:] == _expected_csvs(services, by)["funnel"], by
        assert download("all", "funnel")[1][1] == "8"
        assert download("channel", "funnel")[1][:2] == ["slack", "3"]
        page = alice.http.get("/console/report").text
        assert _as_of(services) in page and refreshed_at not in page


def test_with_no_worker_refreshing_the_page_computes_figures_older_than_three_periods_itself(
        make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock=clock, base_url=PUBLIC, report_refresh_seconds=MINUTE)
    _feed(services, SCRIPT)
    with serving(services) as origin, browser(origin) as alice:
        alice.sign_in("alice")
        first = alice.http.get("/console/report.csv")  # no snapshot yet: computed for this view, and kept
        assert list(csv.reader(io.StringIO(first.text)))[1][1] == "7"
        _feed(services, NEWCOMER)
        clock.advance(timedelta(minutes=2))
        assert list(csv.reader(io.StringIO(alice.http.get("/console/report.csv").text)))[1][1] == "7"
        clock.advance(timedelta(minutes=1, seconds=1))
        again = alice.http.get("/console/report.csv")
        assert list(csv.reader(io.StringIO(again.text)))[1][1] == "8"
        assert again.headers["last-modified"] != first.headers["last-modified"]
        assert _as_of(services) in alice.http.get("/console/report").text


def test_one_refresher_at_a_time_across_workers_and_a_dead_ones_turn_is_taken_over(
        make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock=clock)
    other = make_services(clock=clock)  # a second worker process on the same database
    _feed(services, SCRIPT)
    won: list[str] = []
    start = threading.Barrier(6)

    def worker(name: str, services: Services) -> None:
        start.wait()
        if take_turn(services.db, name, clock.now()):
            won.append(name)

    threads = [threading.Thread(target=worker, args=(f"w{n}", (services, other)[n % 2])) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1, won

    # the winner died holding the turn: nobody refreshes until its lease runs out, then one other worker does
    clock.advance(timedelta(minutes=5))
    assert refresh_if_due(other.db, clock, "w-next", MINUTE) is None
    with services.db.connect() as conn:
        assert conn.execute(select(SNAPSHOTS.c.grouping)).all() == []
    clock.advance(LEASE)
    assert refresh_if_due(other.db, clock, "w-next", MINUTE) is not None
    assert refresh_if_due(services.db, clock, won[0], MINUTE) is None, "done a moment ago: next due in a minute"
    with services.db.connect() as conn:
        assert sorted(conn.execute(select(SNAPSHOTS.c.grouping)).scalars()) == sorted(GROUPS)


def test_two_worker_loops_refresh_the_figures_once_per_period(make_services: ServicesFactory,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    first, second = make_services(clock=clock), make_services(clock=clock)
    _feed(first, SCRIPT)
    stop = threading.Event()
    loops = [threading.Thread(target=run_worker, args=(services,), kwargs={"stop": stop}) for services in
             (first, second)]
    with caplog.at_level(logging.INFO, logger="connectbot.report"):
        for loop in loops:
            loop.start()
        try:
            for _ in range(300):  # both loops look at once; the clock stands still, so one refresh is all there is
                with first.db.connect() as conn:
                    if len(conn.execute(select(SNAPSHOTS.c.grouping)).all()) == len(GROUPS):
                        break
                time.sleep(0.1)
            time.sleep(1.0)  # time for the other loop's look too
        finally:
            stop.set()
            for loop in loops:
                loop.join(timeout=30)
    refreshed = [r for r in caplog.records if r.getMessage().startswith("report figures refreshed")]
    assert len(refreshed) == 1
    with first.db.connect() as conn:
        totals = conn.execute(select(SNAPSHOTS.c.figures).where(SNAPSHOTS.c.grouping == "all")).scalar_one()
    assert totals["funnel"][0]["counts"][0] == 7
