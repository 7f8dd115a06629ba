"""`python -m bot bench timers` and `bench outbox`: real worker processes on PostgreSQL, with figures.

timers: N timers fall due at once; W `python -m bot worker` processes fire them. Prints the
seconds from the commit that made them due until none is pending, and double fires (must be 0).

outbox: a steady stream of turns writes messages while W workers deliver them over HTTP to a
local receiver that honours Idempotency-Key. Prints the delivery lag (turn -> acknowledged) p50/p99.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, insert, select

from bot.app import Services, build_services
from bot.bench import _pg_schema_url
from bot.clock import SystemClock
from bot.config import load_settings
from bot.heartbeat import HEARTBEATS
from bot.store.rows import CONVERSATIONS, OUTBOX, TIMERS, TRANSCRIPT
from bot.types import Channel, ConversationKey, Inbound, InboundKind

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def _fresh_schema(database_url: str) -> Iterator[Services]:
    url, schema, conninfo = _pg_schema_url(database_url)
    services = build_services(load_settings(database_url=url), clock=SystemClock(), auto_migrate=True)
    try:
        yield services
    finally:
        services.db.dispose()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def _workers(url: str, count: int, env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = [subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT,
                                  env={**os.environ, "DATABASE_URL": url, "LOG_FORMAT": "json", **env},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(count)]
    try:
        yield processes
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)


def _wait(condition: Callable[[], bool], poll: float = 0.02) -> None:
    while not condition():
        time.sleep(poll)


def _scalar(services: Services, query: Any) -> int:
    with services.db.connect() as conn:
        return int(conn.execute(query).scalar_one())


def run_timers(database_url: str, timers: int, workers: int) -> int:
    with _fresh_schema(database_url) as services:
        url = services.settings.database_url
        engine = services.engine
        # One real conversation that asked for the 24 h reminder; the others are copies of its row.
        key = ConversationKey(Channel.WEBCHAT, "bench", "model")
        engine.handle(key, Inbound(InboundKind.SAY, "m1", text="we never ran a campaign on amazon"))
        engine.handle(key, Inbound(InboundKind.CLICK, "m2", text="Yes, remind me"))
        with services.db.begin() as conn:
            model = conn.execute(select(CONVERSATIONS).where(CONVERSATIONS.c.user_id == "model")).one()
            timer = conn.execute(select(TIMERS).where(TIMERS.c.conversation_id == model.id)).one()
            conn.execute(TIMERS.delete())
            now = services.clock.now()
            ids = conn.execute(insert(CONVERSATIONS).returning(CONVERSATIONS.c.id), [dict(
                channel="webchat", org="bench", user_id=f"u{n}", status="open", state=model.state,
                slots=model.slots, version=1, created_at=now, updated_at=now) for n in range(timers)]).scalars().all()
        with _workers(url, workers, {}):
            _wait(lambda: _scalar(services, select(func.count()).select_from(HEARTBEATS)) >= workers)
            with services.db.begin() as conn:
                due = services.clock.now() - timedelta(minutes=1)
                conn.execute(insert(TIMERS), [dict(conversation_id=cid, kind=timer.kind, guard_state=timer.guard_state,
                                                   due_at=due, status="pending", created_at=due, fired_at=None)
                                              for cid in ids])
            start = time.perf_counter()
            _wait(lambda: _scalar(services, select(func.count()).where(TIMERS.c.status == "pending")) == 0)
            seconds = time.perf_counter() - start
        with services.db.connect() as conn:
            per_conversation = conn.execute(select(func.count()).where(TRANSCRIPT.c.kind == "timer").group_by(
                TRANSCRIPT.c.conversation_id)).scalars().all()
            fired = conn.execute(select(func.count()).where(TIMERS.c.status == "fired")).scalar_one()
    doubles = sum(n - 1 for n in per_conversation if n > 1)
    print(f"timers      {fired} of {timers} fired by {workers} worker processes in {seconds:.2f} s "
          f"({fired / seconds:.0f} timers/s); double fires: {doubles}")
    return 0 if doubles == 0 and fired == timers else 1


class _Receiver:
    """A local delivery target that honours Idempotency-Key and counts repeats."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.repeats = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    key = self.headers.get("Idempotency-Key", "")
                    receiver.repeats += key in receiver.keys
                    receiver.keys.add(key)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_outbox(database_url: str, rate: float, seconds: float, workers: int) -> int:
    receiver = _Receiver()
    try:
        with _fresh_schema(database_url) as services:
            env = {"OUTBOX_CUSTOMER_URL": f"{receiver.url}/push", "OUTBOX_STRATEGIST_URL": f"{receiver.url}/team"}
            with _workers(services.settings.database_url, workers, env):
                _wait(lambda: _scalar(services, select(func.count()).select_from(HEARTBEATS)) >= workers)
                turns = _steady_turns(services, rate, seconds)
                _wait(lambda: _scalar(services, select(func.count()).where(OUTBOX.c.status == "pending")) == 0)
            with services.db.connect() as conn:
                rows = conn.execute(select(OUTBOX.c.created_at, OUTBOX.c.delivered_at).where(
                    OUTBOX.c.status == "delivered")).all()
    finally:
        receiver.close()
    lags = sorted((r.delivered_at - r.created_at).total_seconds() * 1000 for r in rows)
    cuts = statistics.quantiles(lags, n=100)
    print(f"outbox      {turns} turns at {rate:.0f}/s for {seconds:.0f} s -> {len(lags)} messages over HTTP, "
          f"{workers} worker processes: lag p50 {cuts[49]:.0f} ms, p99 {cuts[98]:.0f} ms, max {lags[-1]:.0f} ms; "
          f"receiver saw {len(receiver.keys)} keys, {receiver.repeats} repeats")
    return 0


def _steady_turns(services: Services, rate: float, seconds: float) -> int:
    """Customer messages at a steady rate, each a turn that writes its outbox rows."""
    texts = ["how long does the first sync take?", "is this safe? do you see my password",
             "i want to talk to a person", "what is sp-api?"]
    start, n = time.perf_counter(), 0
    while (elapsed := time.perf_counter() - start) < seconds:
        if n < elapsed * rate:
            key = ConversationKey(Channel.WEBCHAT, "bench", f"u{n % 200}")
            services.engine.handle(key, Inbound(InboundKind.SAY, f"load-{n}", text=texts[n % len(texts)]))
            n += 1
        else:
            time.sleep(0.002)
    return n
