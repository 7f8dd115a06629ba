"""`python -m bot bench slack`: signed Slack events acked per second, and p50/p99 ack time, for the whole
app and for a bare bolt AsyncApp whose handler only acks, in the same run with the same server settings.

Each server runs in a process of its own under uvicorn on port 0 (bot/bench/slack_server.py); the
load generator is aiohttp at 50 connections (httpx is too slow a client at this concurrency to
measure a server). Every event is a first DM from its own customer, so ours must answer each one:
after the load the bench waits until the fake Slack Web API has received one chat.postMessage per
acked event, and counts any posted twice. The fake is tests/fakes/slack_api.py, so the bench runs
from a checkout of the repository.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.bench.figures import Cuts, cuts, line, per_second, ratio
from bot.bench.slack_server import SECRET

CONNECTIONS = 50


@dataclass(frozen=True)
class Figures:
    acked: int
    failed: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return per_second(self.acked, self.seconds)

    @property
    def cuts(self) -> Cuts:
        return cuts(self.latencies_ms)


def _bodies(n: int, tag: str) -> list[tuple[bytes, dict[str, str]]]:
    from tests.fakes.slack_requests import dm, signed

    out = []
    for i in range(n):
        payload = dm("hi, we're a seller and want to connect", user=f"UB{tag}{i:07d}", at=f"1790000000.{i:06d}")
        payload["event"]["channel"] = f"DB{tag}{i:07d}"
        body = json.dumps(payload).encode()
        out.append((body, signed(body, "application/json", secret=SECRET)))
    return out


async def _load(url: str, warmup: list[tuple[bytes, dict[str, str]]],
                requests: list[tuple[bytes, dict[str, str]]]) -> Figures:
    latencies: list[float] = []
    failed = 0
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def client(queue: list[tuple[bytes, dict[str, str]]], record: bool) -> None:
            nonlocal failed
            while queue:
                body, headers = queue.pop()
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if not record:
                        continue
                    if response.status == 200:
                        latencies.append((time.perf_counter() - started) * 1000)
                    else:
                        failed += 1

        first = list(reversed(warmup))
        await asyncio.gather(*(client(first, False) for _ in range(CONNECTIONS)))
        await asyncio.sleep(1.0)  # the warm-up's turns are done before the measured load starts
        queue = list(reversed(requests))
        gc.disable()  # the generator's own collections would show up as the server's latency
        try:
            began = time.perf_counter()
            await asyncio.gather(*(client(queue, True) for _ in range(CONNECTIONS)))
            seconds = time.perf_counter() - began
        finally:
            gc.enable()
    return Figures(len(latencies), failed, seconds, latencies)


def _start(kind: str, fake_url: str, database_url: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-m", "bot.bench.slack_server", kind, fake_url, database_url],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"the {kind} server did not start")
    return process, f"http://127.0.0.1:{line.split()[1]}/slack/events"


def _stop(process: subprocess.Popen[str]) -> None:  # the bench's own children only
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def _measure(url: str, events: int, warmup: int, tag: str) -> Figures:
    """The warm-up (imports, auth.test, the 50 connections opened) is not measured."""
    return asyncio.run(_load(url, _bodies(warmup, tag + "w"), _bodies(events, tag)))


def _posted(fake_url: str) -> list[str]:
    with urllib.request.urlopen(f"{fake_url}_posted", timeout=10) as response:
        ids: list[str] = json.loads(response.read())["outbox_ids"]
    return ids


def run_slack(events: int, database_url: str | None, rounds: int = 3) -> int:
    if not (Path.cwd() / "tests" / "fakes" / "slack_api.py").exists():
        print("run from a checkout of the repository: the bench uses the fake Slack Web API in tests/fakes")
        return 2
    fake = subprocess.Popen([sys.executable, "-m", "tests.fakes.slack_api"], stdout=subprocess.PIPE, text=True)
    assert fake.stdout is not None
    fake_url = fake.stdout.readline().split()[1]
    bare_runs: list[Figures] = []
    our_runs: list[Figures] = []
    drained, expected = 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        warmup = 50
        bare_process, bare_url = _start("bare", fake_url, url)
        our_process, our_url = _start("ours", fake_url, url)
        try:
            # Rounds alternate, each server measured while the other is idle (ours has answered everything
            # before bare bolt's next round starts), so both see the same machine, however busy it is.
            for n in range(rounds):
                bare_runs.append(_measure(bare_url, events, warmup if n == 0 else 0, f"B{n}"))
                our_runs.append(_measure(our_url, events, warmup if n == 0 else 0, f"O{n}"))
                expected += our_runs[-1].acked + (warmup if n == 0 else 0)
                began = time.perf_counter()
                while len(_posted(fake_url)) < expected and time.perf_counter() - began < 300:
                    time.sleep(0.2)
                drained = max(drained, time.perf_counter() - began)
            per_row = Counter(_posted(fake_url))
        finally:
            _stop(bare_process)
            _stop(our_process)
            _stop(fake)
    twice = sum(n - 1 for n in per_row.values() if n > 1)
    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"Slack events, signed, {CONNECTIONS} connections, uvicorn on port 0, one process each ({database}), "
          f"{rounds} rounds of {events}:")
    for n, (b, o) in enumerate(zip(bare_runs, our_runs, strict=True), 1):
        for name, f in ((f"bare bolt {n}", b), (f"connectbot {n}", o)):
            line(name, f"{f.per_second:7.0f} acked/s", f"ack {f.cuts}", f"({f.acked} acked, {f.failed} refused)")
    bare, ours = _median(bare_runs), _median(our_runs)
    share = ratio(ours.per_second, bare.per_second)
    line("median", f"bare {bare.per_second:.0f}/s p99 {bare.cuts.p99:.1f} ms; ours {ours.per_second:.0f}/s "
                   f"p99 {ours.cuts.p99:.1f} ms")
    line("ratio", f"{share:.2f} of bare bolt's acks per second (goal >= 0.5); p99 {ours.cuts.p99:.1f} ms (goal < 60)")
    line("answered", f"{len(per_row)} of {expected} acked events (warm-up included), {twice} posted twice, "
                     f"each round answered within {drained:.1f} s after its load")
    ok = share >= 0.5 and ours.cuts.p99 < 60 and len(per_row) == expected and twice == 0
    return 0 if ok else 1


def _median(runs: list[Figures]) -> Figures:
    return sorted(runs, key=lambda f: f.per_second)[len(runs) // 2]
