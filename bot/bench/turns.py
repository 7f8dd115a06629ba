"""`python -m bot bench turns`: scripted journeys through the engine, with figures.

Prints turns per second and p50/p99 latency of one turn (classification, transaction, rendering),
on SQLite and, when given a URL, on PostgreSQL, each beside the bare baseline of the same run
(bot/bench/bare.py: select + 2 inserts + update) and the ratio of the two; then the resident memory
of one process holding 10,000 open conversations. Figures go in the README.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import psycopg

from bot.amazon.links import seeded_tokens
from bot.app import Services, build_runner, build_services
from bot.bench.bare import BareTransaction
from bot.bench.figures import Stopwatch, line, ratio, rss_mb
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


def _measure(services: Services, bare: BareTransaction | None, conversations: int) -> tuple[Stopwatch, Stopwatch]:
    """The bot's journeys and, interleaved with them (one journey, then as many bare transactions), the
    bare baseline: whatever else loads the machine meanwhile weighs on both alike."""
    turns, bares = Stopwatch(), Stopwatch()
    for n in range(conversations):
        journey = _journey(services, n)
        for step in journey:
            turns.time(step)
        if bare is not None:
            bare.measure(len(journey), bares)
    return turns, bares


def _report(label: str, turns: Stopwatch, bares: Stopwatch) -> None:
    line(label, f"{turns.count:6d} turns in {turns.seconds:6.2f} s  {turns.rate:7.0f} turns/s  {turns.cuts()}")
    if bares.count:
        line("  bare", f"{bares.count:6d} txns  in {bares.seconds:6.2f} s  {bares.rate:7.0f} txns/s   {bares.cuts()}"
             "  (select + 2 inserts + update, SQLAlchemy Core, same engine)")
        line("  bot/bare", f"{ratio(turns.rate, bares.rate):.2f} of the bare transaction rate")


def _run(services: Services, label: str, conversations: int, with_bare: bool) -> None:
    bare = BareTransaction(services.db) if with_bare else None
    _report(label, *_measure(services, bare, conversations))


def run_bench(conversations: int, postgres_url: str | None, memory_conversations: int, bare: bool = True) -> int:
    classifier = Classifier(default_phrasings_dir())
    runner: Runner = build_runner(load_settings())
    with tempfile.TemporaryDirectory() as tmp:
        print(f"journeys: {conversations} conversations x 9 turns (say, click, Amazon callback, sync, questions)")
        sqlite = build_services(load_settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}"),
                                clock=ManualClock(), tokens=seeded_tokens(), classifier=classifier, runner=runner)
        _run(sqlite, "sqlite", conversations, bare)
        if postgres_url:
            url, schema, conninfo = pg_schema_url(postgres_url)
            try:
                pg = build_services(load_settings(database_url=url), clock=ManualClock(), tokens=seeded_tokens(),
                                    classifier=classifier, runner=runner, auto_migrate=True)
                _run(pg, "postgresql", conversations, bare)
                pg.db.dispose()
            finally:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        before = rss_mb()
        memory = build_services(load_settings(database_url=f"sqlite:///{Path(tmp) / 'memory.db'}"),
                                clock=ManualClock(), tokens=seeded_tokens(), classifier=classifier, runner=runner)
        for n in range(memory_conversations):
            memory.engine.handle(ConversationKey(Channel.WEBCHAT, "mem", f"u{n}"),
                                 Inbound(InboundKind.SAY, f"m{n}", text="hi, we're a seller and want to connect"))
        after = rss_mb()
        line("memory", f"{memory_conversations} open conversations: process RSS {after:.0f} MB "
                       f"(was {before:.0f} MB before opening them)")
    return 0
