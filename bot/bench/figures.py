"""What every benchmark prints with: a stopwatch, p50/p99, rates, resident memory and one line per figure.

One module so that "p99" and "turns/s" mean the same thing in every `python -m bot bench ...`
command: quantiles are `statistics.quantiles(n=100)` cut points (the nearest-rank form is kept for
the understanding report, which has always printed it), rates are count over wall-clock seconds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

LABEL_WIDTH = 11  # the first column of every figure line: "sqlite", "postgresql", "timers", ...


@dataclass(frozen=True)
class Cuts:
    p50: float
    p99: float

    def __str__(self) -> str:
        return f"p50 {self.p50:5.2f} ms  p99 {self.p99:5.2f} ms"


def cuts(samples: Sequence[float]) -> Cuts:
    """p50 and p99 of `samples` (statistics.quantiles' cut points; needs two samples or more)."""
    q = statistics.quantiles(samples, n=100)
    return Cuts(q[49], q[98])


def nearest_rank(samples: Sequence[float], quantile: float) -> float:
    """The sample at `quantile` by nearest rank (0.0 when there are none)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


def per_second(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def ratio(ours: float, bare: float) -> float:
    return ours / bare if bare > 0 else float("nan")


@dataclass
class Stopwatch:
    """Times calls one by one: per-call milliseconds for the quantiles, total seconds for the rate."""

    samples_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def time(self, work: Callable[[], T]) -> T:
        start = time.perf_counter()
        result = work()
        spent = time.perf_counter() - start
        self.seconds += spent
        self.samples_ms.append(spent * 1000)
        return result

    @property
    def count(self) -> int:
        return len(self.samples_ms)

    @property
    def rate(self) -> float:
        return per_second(self.count, self.seconds)

    def cuts(self) -> Cuts:
        return cuts(self.samples_ms)


def elapsed(start: float) -> float:
    """Seconds since `start` (a time.perf_counter() reading)."""
    return time.perf_counter() - start


def rss_mb() -> float:
    """This process's resident memory in MB (Linux /proc; NaN elsewhere)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def line(label: str, *parts: str) -> None:
    """One figure: the label in the first column, then its parts two spaces apart."""
    print(f"{label:{LABEL_WIDTH}} " + "  ".join(parts))
