"""`python -m bot bench stream`: N open in-app streams on one web process, one message to each.

The web process is a child (`bot/bench/stream_server.py`, uvicorn on a free port) so its memory is
its own: resident memory is read before and after the N streams open. The clients are aiohttp
streams in this process, one per customer, each with its own signed identity.

- SQLite: each customer's message is POSTed to the chat API; the turn commits in the web process
  and the in-process notice wakes the stream. Latency: from the message's `at` (taken by the turn,
  just before its commit) to its arrival on the stream.
- PostgreSQL (`--database-url`): this process commits each customer's turn through the engine,
  as another web process or a worker would; the web process hears of it through LISTEN/NOTIFY.
  Latency: from the commit returning here to the arrival. Then one reminder is fired by a real
  `python -m bot worker --once` process and timed from its `at` to its arrival.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import update

from bot.amazon.vault import new_key
from bot.bench.figures import cuts
from bot.bench.postgres import ROOT, fresh_schema
from bot.channels.inapp.identity import IdentityVerifier
from bot.clock import SystemClock
from bot.store.rows import TIMERS
from bot.types import Channel, ConversationKey, Inbound, InboundKind

GOAL_P99_MS, GOAL_KB = 1000.0, 50.0


@dataclass
class Reader:
    """One customer's open stream: when it opened, and each message with its arrival (wall clock)."""

    user: str
    token: str
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    arrivals: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self, session: aiohttp.ClientSession, origin: str) -> None:
        async with session.get(f"{origin}/api/chat/stream", params={"token": self.token}) as response:
            response.raise_for_status()
            data = ""
            async for raw in response.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("retry:"):
                    self.opened.set()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                elif line == "" and data:
                    self.arrivals.append((time.time(), json.loads(data)))
                    self.arrived.set()
                    data = ""

    def first(self, who: str) -> tuple[float, dict[str, Any]] | None:
        return next(((t, m) for t, m in self.arrivals if m["from"] == who), None)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _at(message: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(message["at"]).replace("Z", "+00:00")).timestamp()


class Server:
    def __init__(self, database_url: str, secret: str) -> None:
        env = {**os.environ, "DATABASE_URL": database_url, "INAPP_IDENTITY_SECRET": secret,
               "TOKEN_ENCRYPTION_KEYS": new_key(), "RATE_LIMIT_IP_PER_MINUTE": "0",
               "RATE_LIMIT_IDENTITY_PER_MINUTE": "0", "SYNC_SIMULATOR": "false", "LOG_FORMAT": "text"}
        self.process = subprocess.Popen([sys.executable, "-m", "bot.bench.stream_server"], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        self.origin = f"http://127.0.0.1:{int(self.process.stdout.readline())}"

    async def ready(self) -> None:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                try:
                    async with session.get(f"{self.origin}/healthz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the bench's web process did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


async def _open(session: aiohttp.ClientSession, origin: str, readers: list[Reader]) -> list[asyncio.Task[None]]:
    tasks = []
    for start in range(0, len(readers), 100):
        batch = readers[start:start + 100]
        tasks += [asyncio.create_task(r.read(session, origin)) for r in batch]
        await asyncio.wait_for(asyncio.gather(*(r.opened.wait() for r in batch)), 60)
    return tasks


def _figures(label: str, latencies: list[float], expected: int) -> bool:
    if len(latencies) < 2:
        print(f"{label}: only {len(latencies)} of {expected} messages arrived")
        return False
    found = cuts(latencies)  # the same p50/p99 as every other bench (bot/bench/figures.py)
    p50, p99 = found.p50, found.p99
    print(f"{label}: {len(latencies)}/{expected} arrived; commit -> arrival p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms, max {max(latencies):.1f} ms")
    return len(latencies) == expected and p99 < GOAL_P99_MS


async def _run(database_url: str, streams: int, label: str, commit_here: Any = None, concurrency: int = 8) -> bool:
    secret = secrets.token_urlsafe(48)
    verifier = IdentityVerifier(secret, SystemClock())
    server = Server(database_url, secret)
    ok = True
    try:
        await server.ready()
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None, sock_connect=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            warm = Reader("warm-up", verifier.mint("warm-up", "bench"))
            tasks = await _open(session, server.origin, [warm])
            await asyncio.sleep(1.0)
            before = _rss_kb(server.process.pid)
            readers = [Reader(f"u{n}", verifier.mint(f"u{n}", "bench")) for n in range(streams)]
            tasks += await _open(session, server.origin, readers)
            await asyncio.sleep(2.0)
            after = _rss_kb(server.process.pid)
            per = (after - before) / streams
            print(f"memory      {streams} open streams: web process RSS {before / 1024:.0f} MB -> "
                  f"{after / 1024:.0f} MB, {per:.1f} KB per open stream")
            ok = per < GOAL_KB
            latencies = await (commit_here(readers) if commit_here else
                               _post_each(session, server.origin, readers, concurrency))
            ok = _figures(label, latencies, streams) and ok
            if commit_here is not None:
                ok = await _worker_reminder(session, server.origin, database_url, verifier) and ok
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        server.stop()
    return ok


async def _post_each(session: aiohttp.ClientSession, origin: str, readers: list[Reader],
                     concurrency: int) -> list[float]:
    """SQLite: one message per customer through the chat API; the turn commits in the web process."""
    gate = asyncio.Semaphore(concurrency)

    async def post(reader: Reader) -> None:
        async with gate, session.post(f"{origin}/api/chat/messages",
                                      json={"client_message_id": "m1", "text": "how long does the first sync take"},
                                      headers={"Authorization": f"Bearer {reader.token}"}) as answer:
            answer.raise_for_status()

    await asyncio.gather(*(post(r) for r in readers))
    return await _arrivals(readers, lambda reader, message: _at(message))


async def _arrivals(readers: list[Reader], since: Any) -> list[float]:
    deadline = time.monotonic() + 30
    latencies = []
    for reader in readers:
        while reader.first("customer") is None and time.monotonic() < deadline:
            reader.arrived.clear()
            try:
                await asyncio.wait_for(reader.arrived.wait(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
        found = reader.first("customer")
        if found is not None:
            arrival, message = found
            latencies.append((arrival - since(reader, message)) * 1000)
    return latencies


def _committer(services: Any) -> Any:
    """PostgreSQL: this process commits each customer's turn, as another process would."""
    async def commit_each(readers: list[Reader]) -> list[float]:
        committed: dict[str, float] = {}

        def turn(reader: Reader) -> None:
            key = ConversationKey(Channel.WEBCHAT, "bench", reader.user)
            services.engine.handle(key, Inbound(InboundKind.SAY, f"bench:{reader.user}",
                                                text="how long does the first sync take"))
            committed[reader.user] = time.time()

        for reader in readers:
            await asyncio.to_thread(turn, reader)
        return await _arrivals(readers, lambda reader, _message: committed[reader.user])
    return commit_each


async def _worker_reminder(session: aiohttp.ClientSession, origin: str, database_url: str,
                           verifier: IdentityVerifier) -> bool:
    """A reminder fired by a real worker process reaches the stream of a web process."""
    reader = Reader("reminded", verifier.mint("reminded", "bench"))
    task = (await _open(session, origin, [reader]))[0]
    headers = {"Authorization": f"Bearer {reader.token}"}
    for n, body in enumerate(({"text": "we never ran a campaign on amazon"}, {"click": "Yes, remind me"})):
        async with session.post(f"{origin}/api/chat/messages", json={"client_message_id": f"r{n}", **body},
                                headers=headers) as answer:
            answer.raise_for_status()
    await asyncio.sleep(1.0)
    seen = len(reader.arrivals)
    from sqlalchemy import create_engine

    db = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with db.begin() as conn:
        conn.execute(update(TIMERS).where(TIMERS.c.status == "pending").values(
            due_at=datetime.now(UTC) - timedelta(seconds=1)))
    db.dispose()
    env = {**os.environ, "DATABASE_URL": database_url, "TOKEN_ENCRYPTION_KEYS": new_key(), "LOG_FORMAT": "text",
           "SYNC_SIMULATOR": "false"}
    worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "worker", "--once", cwd=ROOT,
                                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    await worker.wait()
    deadline = time.monotonic() + 10
    while len(reader.arrivals) == seen and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    task.cancel()
    if len(reader.arrivals) == seen:
        print("worker      the reminder fired by a worker process did not arrive")
        return False
    arrival, message = reader.arrivals[seen]
    latency = (arrival - _at(message)) * 1000
    print(f"worker      a reminder fired by `python -m bot worker --once` (another process) reached the stream "
          f"{latency:.0f} ms after its turn")
    return latency < GOAL_P99_MS


def run_stream_bench(streams: int, database_url: str | None, concurrency: int = 8) -> int:
    print(f"stream      {streams} open Server-Sent Event streams on one web process (uvicorn), one message each; "
          f"goal p99 < {GOAL_P99_MS:.0f} ms, < {GOAL_KB:.0f} KB per stream")
    with tempfile.TemporaryDirectory() as folder:
        ok = asyncio.run(_run(f"sqlite:///{folder}/bench.db", streams,
                              f"SQLite      in-process notice, {concurrency} POSTs at a time",
                              concurrency=concurrency))
    if database_url:
        with fresh_schema(database_url) as services:
            ok = asyncio.run(_run(services.settings.database_url, streams,
                                  "PostgreSQL  committed by another process, LISTEN/NOTIFY",
                                  _committer(services))) and ok
    return 0 if ok else 1
