"""`python -m bot bench outbox`: delivery lag of real worker processes on PostgreSQL, with figures.

A steady stream of turns writes messages while W workers deliver them over HTTP to a local
receiver that honours Idempotency-Key. Prints the delivery lag (turn -> acknowledged) p50/p99.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import func, select

from bot.app import Services
from bot.bench.figures import cuts, line
from bot.bench.postgres import fresh_schema, scalar, wait_until, worker_processes
from bot.heartbeat import HEARTBEATS
from bot.store.rows import OUTBOX
from bot.types import Channel, ConversationKey, Inbound, InboundKind


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
        with fresh_schema(database_url) as services:
            env = {"OUTBOX_CUSTOMER_URL": f"{receiver.url}/push", "OUTBOX_STRATEGIST_URL": f"{receiver.url}/team"}
            with worker_processes(services.settings.database_url, workers, env):
                wait_until(lambda: scalar(services, select(func.count()).select_from(HEARTBEATS)) >= workers)
                turns = _steady_turns(services, rate, seconds)
                wait_until(lambda: scalar(services, select(func.count()).where(OUTBOX.c.status == "pending")) == 0)
            with services.db.connect() as conn:
                rows = conn.execute(select(OUTBOX.c.created_at, OUTBOX.c.delivered_at).where(
                    OUTBOX.c.status == "delivered")).all()
    finally:
        receiver.close()
    lags = sorted((r.delivered_at - r.created_at).total_seconds() * 1000 for r in rows)
    lag = cuts(lags)
    line("outbox", f"{turns} turns at {rate:.0f}/s for {seconds:.0f} s -> {len(lags)} messages over HTTP, "
         f"{workers} worker processes: lag p50 {lag.p50:.0f} ms, p99 {lag.p99:.0f} ms, max {lags[-1]:.0f} ms; "
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
