"""`python -m bot bench turns`: scripted journeys through the engine, with figures.

Prints turns per second and p50/p99 latency of one turn (classification, transaction, rendering),
on SQLite and, when given a URL, on PostgreSQL; then the resident memory of one process holding
10,000 open conversations. Figures go in the README.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from bot.amazon.links import seeded_tokens
from bot.app import Services, build_runner, build_services
from bot.bench.postgres import pg_schema_url
from bot.classify import Classifier, default_phrasings_dir
from bot.clock import ManualClock
from bot.config import load_settings
from bot.engine import TurnResult
from bot.runner import Runner
from bot.types import Channel, ConversationKey, Inbound, InboundKind


def _journey(services: Services, n: int) -> list[Callable[[], TurnResult]]:
    """One customer's connection, as the steps an adapter would feed the engine."""
    key = ConversationKey(Channel.WEBCHAT, "bench", f"u{n}")
    engine = services.engine

    def say(text: str, i: int) -> Callable[[], TurnResult]:
        return lambda: engine.handle(key, Inbound(InboundKind.SAY, f"b{n}:{i}", text=text))

    def click(label: str, i: int) -> Callable[[], TurnResult]:
        return lambda: engine.handle(key, Inbound(InboundKind.CLICK, f"b{n}:{i}", text=label))

    def amazon() -> TurnResult:
        attempt = engine.pending_link(engine.conversation_id_for(key) or 0)
        assert attempt is not None
        return engine.complete_link(attempt.state_token, {
            "region": "EU", "result": "ok", "found_types": ["vendor"], "matched": ["DE"], "missing": []})

    def sync(status: str, progress: int, i: int) -> Callable[[], TurnResult]:
        return lambda: engine.handle(key, Inbound(InboundKind.SYNC, f"b{n}:{i}",
                                                  data={"status": status, "progress": progress}))

    return [
        say("hi, we're a vendor and want to connect our account", 1), click("Yes", 2),
        say("we sell on amazon.de", 3), amazon, click("Skip for now", 5),
        say("is this safe? do you see my password", 6),
        sync("in_progress", 40, 7), say("how long until the sync is done?", 8), sync("completed", 100, 9),
    ]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _measure(services: Services, conversations: int) -> tuple[int, float, list[float]]:
    latencies: list[float] = []
    start = time.perf_counter()
    for n in range(conversations):
        for step in _journey(services, n):
            t0 = time.perf_counter()
            step()
            latencies.append((time.perf_counter() - t0) * 1000)
    return len(latencies), time.perf_counter() - start, latencies


def _report(label: str, turns: int, seconds: float, latencies: list[float]) -> None:
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{label:11} {turns:6d} turns in {seconds:6.2f} s  {turns / seconds:7.0f} turns/s  "
          f"p50 {cuts[49]:5.2f} ms  p99 {cuts[98]:5.2f} ms")


def run_bench(conversations: int, postgres_url: str | None, memory_conversations: int) -> int:
    classifier = Classifier(default_phrasings_dir())
    runner: Runner = build_runner(load_settings())
    with tempfile.TemporaryDirectory() as tmp:
        print(f"journeys: {conversations} conversations x 9 turns (say, click, Amazon callback, sync, questions)")
        sqlite = build_services(load_settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}"),
                                clock=ManualClock(), tokens=seeded_tokens(), classifier=classifier, runner=runner)
        _report("sqlite", *_measure(sqlite, conversations))
        if postgres_url:
            url, schema, conninfo = pg_schema_url(postgres_url)
            try:
                pg = build_services(load_settings(database_url=url), clock=ManualClock(), tokens=seeded_tokens(),
                                    classifier=classifier, runner=runner, auto_migrate=True)
                _report("postgresql", *_measure(pg, conversations))
                pg.db.dispose()
            finally:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        before = _rss_mb()
        memory = build_services(load_settings(database_url=f"sqlite:///{Path(tmp) / 'memory.db'}"),
                                clock=ManualClock(), tokens=seeded_tokens(), classifier=classifier, runner=runner)
        for n in range(memory_conversations):
            memory.engine.handle(ConversationKey(Channel.WEBCHAT, "mem", f"u{n}"),
                                 Inbound(InboundKind.SAY, f"m{n}", text="hi, we're a seller and want to connect"))
        after = _rss_mb()
        print(f"memory      {memory_conversations} open conversations: process RSS {after:.0f} MB "
              f"(was {before:.0f} MB before opening them)")
    return 0
