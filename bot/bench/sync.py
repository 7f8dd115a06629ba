"""`python -m bot bench sync`: signed sync webhooks through the real app, with figures.

For each connection: four signed reports (10%, 50%, 80%, completed) posted to POST /hooks/sync,
each verified, checked against the stored status and run as one transaction with the
conversation's turn; then one replay, which must be refused. The app runs under uvicorn on a
local port and the reports travel real HTTP. Prints reports/s and p50/p99 per report.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import insert

from bot.amazon.links import seeded_tokens
from bot.app import Services, build_runner, build_services
from bot.bench.figures import Stopwatch, elapsed, line, per_second
from bot.bench.postgres import pg_schema_url
from bot.classify import Classifier, default_phrasings_dir
from bot.clock import ManualClock
from bot.config import load_settings
from bot.store.rows import CONNECTIONS
from bot.sync.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.types import Channel, ConversationKey, Inbound, InboundKind
from bot.web import create_app

SECRET = "bench-secret"
STEPS = (("in_progress", 10), ("in_progress", 50), ("in_progress", 80), ("completed", 100))


def _connections(services: Services, count: int) -> list[int]:
    ids = []
    for n in range(count):
        result = services.engine.handle(ConversationKey(Channel.WEBCHAT, "bench", f"s{n}"),
                                        Inbound(InboundKind.SAY, f"s{n}", text="hi, vendor here"))
        with services.db.begin() as conn:
            ids.append(int(conn.execute(insert(CONNECTIONS).values(
                conversation_id=result.conversation_id, org="bench", kind="ads", region="EU", profiles=[],
                marketplaces=["DE"], refresh_token="bench", created_at=services.clock.now(),
                sync_status="pending", sync_progress=0).returning(CONNECTIONS.c.id)).scalar_one()))
    return ids


@contextmanager
def _serving(services: Services) -> Iterator[str]:
    """The web app under uvicorn on a free local port: reports travel real HTTP, as the platform's would."""
    app = create_app(services.settings, services=services, run_timers=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _measure(services: Services, count: int) -> None:
    ids = _connections(services, count)
    accepted = Stopwatch()
    refused = 0
    with _serving(services) as base, httpx.Client(base_url=base) as client:
        start = time.perf_counter()
        for connection in ids:
            for i, (status, progress) in enumerate(STEPS):
                raw = json.dumps({"connection_id": connection, "event_id": f"{connection}-{i}", "status": status,
                                  "progress": progress}).encode()
                stamp = int(services.clock.now().timestamp())
                headers = {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(SECRET, stamp, raw)}
                response = accepted.time(partial(client.post, "/hooks/sync", content=raw, headers=headers))
                assert response.status_code == 200, response.text
            refused += client.post("/hooks/sync", content=raw, headers=headers).status_code == 409
        seconds = elapsed(start)
    line(services.db.dialect.name, f"{accepted.count:6d} reports in {seconds:6.2f} s  "
         f"{per_second(accepted.count, seconds):6.0f} reports/s  {accepted.cuts()}  replays refused {refused}/{count}")


def run_sync_bench(connections: int, postgres_url: str | None) -> int:
    logging.getLogger("connectbot.sync.webhook").setLevel(logging.ERROR)  # 200 expected replay lines are noise here
    classifier = Classifier(default_phrasings_dir())
    settings_for = {"sync_webhook_secret": SECRET, "sync_simulator": False}
    runner = build_runner(load_settings())
    print(f"sync webhooks: {connections} connections x 4 signed reports (+1 replay each), "
          "over HTTP to the app under uvicorn")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = build_services(load_settings(database_url=f"sqlite:///{Path(tmp) / 'sync.db'}", **settings_for),
                                clock=ManualClock(), tokens=seeded_tokens(), classifier=classifier, runner=runner)
        _measure(sqlite, connections)
        sqlite.db.dispose()
    if postgres_url:
        import psycopg

        url, schema, conninfo = pg_schema_url(postgres_url)
        try:
            pg = build_services(load_settings(database_url=url, **settings_for), clock=ManualClock(),
                                tokens=seeded_tokens(), classifier=classifier, runner=runner, auto_migrate=True)
            _measure(pg, connections)
            pg.db.dispose()
        finally:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return 0
