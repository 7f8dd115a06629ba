"""Exactly once to people, with real worker processes on PostgreSQL, some of them killed mid-delivery.

Each test starts several `python -m bot worker` processes against one PostgreSQL schema and a real
HTTP receiver (tests/fakes/receiver.py) that honours Idempotency-Key, then counts: every message
reached its person once; raw repeats of a key happen only where a worker was killed (at most one
per kill: the delivery it had in flight); no timer fires twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import func, select

from bot.app import Services
from bot.clock import ManualClock
from bot.heartbeat import HEARTBEATS
from bot.store.rows import KEYS, OUTBOX, TIMERS, TRANSCRIPT
from bot.types import Channel, ConversationKey
from tests.conftest import ServicesFactory
from tests.fakes.receiver import Receiver, running_receiver
from tests.fakes.talk import click, say
from tests.fakes.tcp_proxy import running_proxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def database_url(pg_url: str) -> str:
    return pg_url  # PostgreSQL only: SKIP LOCKED between processes is what these tests are about


@pytest.fixture
def pg_services(make_services: ServicesFactory) -> Services:
    # Seeded at the workers' own time: timers the seed arms (case SLA reminders) are due when they would be
    # for real, not years ago, so the workers deliver exactly what the seed wrote.
    return make_services(ManualClock(datetime.now(UTC)))


class Workers:
    """Real worker processes; each writes its JSON log to a file of its own (pipes could fill and block it)."""

    def __init__(self, url: str, receiver: Receiver | None, logs: Path) -> None:
        self.env = {**os.environ, "DATABASE_URL": url, "OUTBOX_LEASE_SECONDS": "2", "OUTBOX_TIMEOUT_SECONDS": "1",
                    "TIMER_POLL_SECONDS": "0.05", "OUTBOX_BATCH": "5", "LOG_FORMAT": "json"}
        if receiver is not None:
            self.env.update(OUTBOX_CUSTOMER_URL=f"{receiver.url}/push",
                            OUTBOX_STRATEGIST_URL=f"{receiver.url}/strategists")
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []
        self.files: list[IO[bytes]] = []

    def start(self, count: int = 1) -> None:
        for _ in range(count):
            log = (self.logs / f"worker-{len(self.processes)}.log").open("wb")
            self.files.append(log)
            self.processes.append(subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=self.env,
                                                   stdout=log, stderr=log))

    def kill(self, index: int) -> None:
        self.processes[index].send_signal(signal.SIGKILL)  # no clean shutdown: claims and transactions left open
        self.processes[index].wait()

    def stop_all(self) -> list[int]:
        """SIGTERM the live ones; their exit codes (SIGKILLed ones report -9)."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        return [process.wait(timeout=30) for process in self.processes]


@pytest.fixture
def workers_for(pg_url: str, tmp_path: Path) -> Iterator[Callable[[Receiver | None], Workers]]:
    started: list[Workers] = []

    def make(receiver: Receiver | None) -> Workers:
        started.append(Workers(pg_url, receiver, tmp_path))
        return started[-1]

    yield make
    for workers in started:
        for process in workers.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for file in workers.files:
            file.close()


def _until(condition: Callable[[], bool], what: str, seconds: float = 90) -> None:
    """Waits for the processes to get there; the deadline only keeps a broken run from hanging CI."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.02)


def _count(services: Services, query: object) -> int:
    with services.db.connect() as conn:
        return int(conn.execute(query).scalar_one())  # type: ignore[call-overload]


def _outbox(services: Services) -> list[tuple[int, int, str, str]]:
    with services.db.connect() as conn:
        return [(r.id, r.conversation_id, r.audience, r.status) for r in conn.execute(
            select(OUTBOX.c.id, OUTBOX.c.conversation_id, OUTBOX.c.audience, OUTBOX.c.status).order_by(OUTBOX.c.id))]


def _seed_messages(services: Services, conversations: int) -> int:
    for n in range(conversations):
        text = "i want to talk to a person" if n % 3 == 0 else "how long does the first sync take?"
        say(services, text, key=ConversationKey(Channel.WEBCHAT, "acme", f"p{n}"))
    return len(_outbox(services))


def _started(services: Services, count: int) -> None:
    """Waits until `count` workers have written a heartbeat: up, with their SIGTERM handler in place."""
    _until(lambda: _count(services, select(func.count()).select_from(HEARTBEATS)) >= count, f"{count} workers up")


def _pending(services: Services) -> int:
    return _count(services, select(func.count()).where(OUTBOX.c.status == "pending"))


def _assert_in_order(receiver: Receiver, services: Services) -> None:
    queue_of = {f"connectbot-outbox-{i}": (c, a) for i, c, a, _ in _outbox(services)}
    seen: dict[tuple[int, str], int] = {}
    for key in receiver.accepted:
        outbox_id = int(key.rsplit("-", 1)[1])
        queue = queue_of[key]
        assert seen.get(queue, 0) < outbox_id, f"{key} overtook an earlier message of {queue}"
        seen[queue] = outbox_id


def test_workers_killed_mid_delivery_lose_nothing_and_double_nothing(
        pg_services: Services, workers_for: Callable[[Receiver | None], Workers]) -> None:
    total = _seed_messages(pg_services, 30)
    with running_receiver(delay_seconds=0.03) as receiver:  # slow enough that kills land mid-delivery
        workers = workers_for(receiver)
        workers.start(3)
        _started(pg_services, 3)
        _until(lambda: len(receiver.posts) >= 8, "first deliveries")
        workers.kill(0)
        _until(lambda: len(receiver.posts) >= 20, "more deliveries")
        workers.kill(1)
        workers.start(1)  # a restart
        _started(pg_services, 4)
        _until(lambda: _pending(pg_services) == 0, "every message delivered")
        codes = workers.stop_all()
    assert codes == [-9, -9, 0, 0]
    rows = _outbox(pg_services)
    assert len(rows) == total and {status for *_, status in rows} == {"delivered"}
    assert sorted(receiver.accepted) == sorted(f"connectbot-outbox-{i}" for i, *_ in rows), "each person got each"
    assert receiver.raw_duplicates <= 2, "a repeat only for the delivery each killed worker had in flight"
    _assert_in_order(receiver, pg_services)


def test_live_workers_never_send_a_message_twice(pg_services: Services,
                                                 workers_for: Callable[[Receiver | None], Workers]) -> None:
    total = _seed_messages(pg_services, 30)
    with running_receiver(delay_seconds=0.005) as receiver:
        workers = workers_for(receiver)
        workers.start(3)
        _started(pg_services, 3)
        _until(lambda: _pending(pg_services) == 0, "every message delivered")
        assert workers.stop_all() == [0, 0, 0]
    assert len(receiver.accepted) == total
    assert receiver.raw_duplicates == 0 and len(receiver.posts) == total, "without restarts not even a raw repeat"
    _assert_in_order(receiver, pg_services)
    assert _count(pg_services, select(func.count()).where(HEARTBEATS.c.stopped_at.is_not(None))) == 3


def test_sigterm_finishes_the_delivery_in_flight_and_releases_the_rest(
        pg_services: Services, workers_for: Callable[[Receiver | None], Workers]) -> None:
    total = _seed_messages(pg_services, 12)
    with running_receiver(delay_seconds=0.5) as receiver:
        workers = workers_for(receiver)
        workers.start(1)
        _until(lambda: len(receiver.posts) >= 1, "a delivery in flight")
        assert workers.stop_all() == [0]
        delivered = len(receiver.accepted)
    with pg_services.db.connect() as conn:
        claimed = conn.execute(select(func.count()).where(OUTBOX.c.claimed_by.is_not(None))).scalar_one()
        states: dict[str, int] = dict(conn.execute(
            select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status)).tuples().all())
    assert claimed == 0, "nothing stays claimed by a worker that left"
    assert delivered >= 1 and states.get("delivered", 0) == delivered, "the delivery in flight was finished and kept"
    assert states.get("pending", 0) == total - delivered


def test_timers_fire_once_across_workers_and_kills(make_services: ServicesFactory,
                                                   workers_for: Callable[[Receiver | None], Workers]) -> None:
    pg_services = make_services()  # its clock stands in January: every reminder is long due for the workers
    timers = 40
    for n in range(timers):  # each asks for the 24 h campaign reminder, long due by the workers' clock
        key = ConversationKey(Channel.WEBCHAT, "acme", f"t{n}")
        say(pg_services, "we never ran a campaign on amazon", key=key)
        click(pg_services, "Yes, remind me", key=key)
    pending = select(func.count()).where(TIMERS.c.status == "pending")
    workers = workers_for(None)
    workers.start(3)
    _started(pg_services, 3)
    _until(lambda: _count(pg_services, pending) <= timers - 5, "first timers fired")
    workers.kill(0)
    workers.start(1)
    _started(pg_services, 4)
    _until(lambda: _count(pg_services, pending) == 0, "every timer fired")
    assert workers.stop_all() == [-9, 0, 0, 0]
    with pg_services.db.connect() as conn:
        fired_per_conversation = conn.execute(
            select(TRANSCRIPT.c.conversation_id, func.count()).where(TRANSCRIPT.c.kind == "timer")
            .group_by(TRANSCRIPT.c.conversation_id)).tuples().all()
        keys = conn.execute(select(func.count()).where(KEYS.c.key.like("timer:%"))).scalar_one()
        statuses = conn.execute(select(TIMERS.c.status).distinct()).scalars().all()
    assert len(fired_per_conversation) == timers and {n for _, n in fired_per_conversation} == {1}
    assert keys == timers and statuses == ["fired"]


def test_the_database_restarting_under_load_loses_and_doubles_nothing(
        pg_services: Services, pg_url: str, workers_for: Callable[[Receiver | None], Workers]) -> None:
    total = _seed_messages(pg_services, 30)
    with running_proxy() as proxy, running_receiver(delay_seconds=0.02) as receiver:
        workers = workers_for(receiver)
        workers.env["DATABASE_URL"] = pg_url.replace("@localhost:5432/", f"@127.0.0.1:{proxy.port}/")
        workers.start(2)
        _started(pg_services, 2)
        _until(lambda: len(receiver.posts) >= 10, "first deliveries")
        proxy.restart()
        _until(lambda: len(receiver.posts) >= 25, "deliveries after the first restart")
        proxy.restart()
        _until(lambda: _pending(pg_services) == 0, "every message delivered")
        assert [p.poll() for p in workers.processes] == [None, None], "the workers rode out the restarts"
        assert workers.stop_all() == [0, 0]
    assert sorted(receiver.accepted) == sorted(f"connectbot-outbox-{i}" for i, *_ in _outbox(pg_services))
    assert len(receiver.accepted) == total
    assert receiver.raw_duplicates <= 2 * 2, "a repeat only where a restart cut a worker off after a POST"
    logs = "".join(path.read_text() for path in workers.logs.glob("worker-*.log"))
    assert "database unreachable while" in logs and "database reachable again" in logs, "the outage is logged plainly"
