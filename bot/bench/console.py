"""`python -m bot bench console`: the console's pages over many conversations on PostgreSQL, with their plans.

Seeds a fresh schema with N conversations and M cases in a journey's proportions (bot/bench/console_seed.py),
serves the whole web app under uvicorn on a local port, signs a strategist in through the stand-in identity
provider, and times GET of each page from the client: the queue (plain, filtered, searched), conversation
pages, and the report in each grouping (and one CSV). Prints p50/p99 per page against the goal (p99 under
300 ms); `--plans` also runs EXPLAIN (ANALYZE, BUFFERS) on every statement one GET of each page sent.

The report's pages read the figures a worker computes ahead (bot/channels/console/report/refresh.py), so a
refresher runs beside the pages the whole time, every REPORT_REFRESH_SECONDS as a worker would, and the
refresh's own duration is printed apart (timed first on its own, then as the refresher measured it while
the pages were served); `--plans` adds the plans of the refresh's statements.
"""

from __future__ import annotations

import html
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import Engine as Db
from sqlalchemy import event, func, select

from bot.app import Services
from bot.bench.console_seed import seed
from bot.bench.figures import Stopwatch, elapsed, line
from bot.bench.postgres import fresh_schema
from bot.channels.console.report import GROUPS
from bot.channels.console.report.refresh import refresh, run_refresher
from bot.channels.console.report.snapshot import SNAPSHOTS
from bot.loopback import LocalServer, Rerouted
from bot.store.rows import CASES
from bot.web import create_app

GOAL_P99_MS = 300.0
WARM_UP = 3
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _sign_in(client: httpx.Client) -> None:
    """The strategist's way in, as a browser goes: /console/login, the stand-in provider's page, back."""
    to_idp = client.get("/console/login")
    picker = client.get(to_idp.headers["location"])
    fields = {html.unescape(k): html.unescape(v) for k, v in _HIDDEN.findall(picker.text)}
    back = client.post("/idp/authorize", data={**fields, "who": "sam"})
    done = client.get(back.headers["location"])
    if done.status_code != 303:
        raise RuntimeError(f"signing in to the console failed: {done.status_code}")


def _pages(services: Services, rng: random.Random) -> list[tuple[str, list[str]]]:
    with services.db.connect() as conn:
        handed = list(conn.execute(select(CASES.c.conversation_id).order_by(CASES.c.id).limit(5000)).scalars())
        last = int(conn.execute(select(func.max(CASES.c.conversation_id))).scalar_one() or 1)
    some = [f"/console/c/{cid}" for cid in rng.sample(handed, min(20, len(handed)))]
    some += [f"/console/c/{rng.randrange(1, last + 1)}" for _ in range(20)]
    return [
        ("queue", ["/console/"]),
        ("  channel", ["/console/?channel=slack"]),
        ("  step", ["/console/?step=signin"]),
        ("  type", ["/console/?account_type=seller"]),
        ("  org", ["/console/?q=org123"]),
        ("  rare", ["/console/?q=user99999"]),
        ("convers.", some),
        *((f"report {by}"[:11], [f"/console/report?by={by}"]) for by in GROUPS),
        ("csv steps", ["/console/report.csv?by=week&figure=steps"]),
    ]


@contextmanager
def _statements(db: Db) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (and their parameters) the database is sent meanwhile."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(db, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db, "before_cursor_execute", record)


def _explain(services: Services, label: str, seen: list[tuple[str, Any]]) -> None:
    for statement, parameters in seen:
        with services.db.connect() as conn:
            plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters).scalars().all()
        line("plan", label)
        for row in plan:
            print(f"    {row}")


def _plans(services: Services, client: httpx.Client, label: str, path: str) -> None:
    with _statements(services.db) as seen:
        client.get(path)
    _explain(services, f"{label.strip()}: {path}", seen)


def _refresh_plans(services: Services) -> None:
    with _statements(services.db) as seen:
        refresh(services.db, services.clock)
    _explain(services, "refresh (every grouping)", [(s, p) for s, p in seen if s.lstrip().upper().startswith("SELECT")])


def _refreshes(services: Services, runs: int) -> None:
    """The refresh alone, before anything else runs: computing and storing every grouping's figures."""
    watch = Stopwatch()
    for _ in range(runs):
        watch.time(lambda: refresh(services.db, services.clock))
    line("refresh", f"every grouping ({len(GROUPS)}) computed and stored, {runs} runs alone", str(watch.cuts()))


def _refreshed_meanwhile(services: Services) -> None:
    with services.db.connect() as conn:
        took, at = conn.execute(select(SNAPSHOTS.c.took_ms, SNAPSHOTS.c.computed_at)
                                .where(SNAPSHOTS.c.grouping == "all")).one()
    line("refresh", f"the worker's latest, while the pages were served: {took:.0f} ms (at {at:%H:%M:%S})")


def run_console(database_url: str, conversations: int, cases: int, rounds: int, plans: bool) -> int:
    rng = random.Random(12)
    with fresh_schema(database_url) as services:
        start = time.perf_counter()
        written = seed(services.db, conversations, cases)
        line("seeded", ", ".join(f"{n:,} {name}" for name, n in written.items()) + f" in {elapsed(start):.1f} s")
        _refreshes(services, 3)
        stop = threading.Event()  # a worker's refresher beside the pages, as in production
        refresher = threading.Thread(target=run_refresher, daemon=True, args=(
            services.db, services.clock, "bench-worker", services.settings.report_refresh_seconds, stop))
        refresher.start()
        server = LocalServer(create_app(services.settings, services=services, run_timers=False))
        public = services.settings.public_url
        client = httpx.Client(base_url=public, transport=Rerouted({public: server.start()}), timeout=120,
                              follow_redirects=False)
        worst = 0.0
        try:
            _sign_in(client)
            pages = _pages(services, rng)
            for label, paths in pages:
                for path in paths[:WARM_UP] if len(paths) > 1 else paths * WARM_UP:
                    client.get(path)
                watch = Stopwatch()
                for n in range(rounds):
                    path = paths[n % len(paths)]
                    got = watch.time(lambda path=path: client.get(path))  # type: ignore[misc]
                    if got.status_code != 200:
                        raise RuntimeError(f"GET {path} answered {got.status_code}")
                cuts = watch.cuts()
                worst = max(worst, cuts.p99)
                shown = paths[0] if len(paths) == 1 else f"/console/c/<{len(paths)} conversations>"
                line(label, f"{shown:44}", f"{watch.count} GETs", str(cuts))
            line("goal", f"p99 under {GOAL_P99_MS:.0f} ms on every page: "
                 f"{'met' if worst < GOAL_P99_MS else 'NOT met'} (worst p99 {worst:.1f} ms)")
            _refreshed_meanwhile(services)
            stop.set()  # the plans below are of the pages' statements alone
            refresher.join(timeout=120)
            if plans:
                for label, paths in pages:
                    _plans(services, client, label, paths[0])
                _refresh_plans(services)
        finally:
            stop.set()
            client.close()
            server.stop()
    return 0 if worst < GOAL_P99_MS else 1
