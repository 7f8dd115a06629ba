"""Prometheus metrics at /metrics, computed from the database at scrape time.

Any number of web and worker processes share one database, so figures that must add up across
processes (turns, outbox lag, retries, dead letters, cases) are read from it when scraped rather
than counted in one process's memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Connection, func, select
from sqlalchemy import Engine as DbEngine

from bot.clock import Clock, as_utc
from bot.heartbeat import HEARTBEATS
from bot.outbox import ATTEMPTS
from bot.store.rows import CASES, KEYS, OUTBOX, TIMERS


def _seconds_between(postgres: bool, later: Any, earlier: Any) -> Any:
    if postgres:
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


class DatabaseCollector(Collector):
    def __init__(self, db: DbEngine, clock: Clock, overdue_after: timedelta, stale_after: timedelta) -> None:
        self.db, self.clock, self.overdue_after, self.stale_after = db, clock, overdue_after, stale_after
        self.postgres = db.dialect.name == "postgresql"

    def collect(self) -> Iterator[Metric]:
        with self.db.connect() as conn:
            yield from self._turns_and_outbox(conn)
            yield from self._cases(conn)
            yield from self._workers(conn)

    def _turns_and_outbox(self, conn: Connection) -> Iterator[Metric]:
        now = self.clock.now()
        scalar = conn.execute
        turns = CounterMetricFamily("connectbot_turns", "Inbound events handled (one turn each).")
        turns.add_metric([], scalar(select(func.count()).select_from(KEYS)).scalar_one())
        yield turns
        by_status = GaugeMetricFamily("connectbot_outbox_messages", "Outbox rows by delivery status.",
                                      labels=["status"])
        counts: dict[str, int] = dict(
            scalar(select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status)).tuples().all())
        for status in ("pending", "delivered", "dead"):
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        oldest = scalar(select(func.min(OUTBOX.c.created_at)).where(OUTBOX.c.status == "pending")).scalar()
        lag = GaugeMetricFamily("connectbot_outbox_oldest_pending_seconds",
                                "Age of the oldest message not delivered yet (0 when none is waiting).")
        lag.add_metric([], max((now - as_utc(oldest)).total_seconds(), 0.0) if oldest else 0.0)
        yield lag
        took = _seconds_between(self.postgres, OUTBOX.c.delivered_at, OUTBOX.c.created_at)
        count, total = scalar(select(func.count(), func.coalesce(func.sum(took), 0.0)).where(
            OUTBOX.c.status == "delivered")).one()
        delivered = SummaryMetricFamily("connectbot_outbox_delivery_lag_seconds",
                                        "From the turn's commit to the receiver's acknowledgement.")
        delivered.add_metric([], count_value=count, sum_value=float(total))
        yield delivered
        retries = CounterMetricFamily("connectbot_outbox_retries", "Delivery tries that will be tried again.")
        retries.add_metric([], scalar(select(func.count()).where(ATTEMPTS.c.outcome == "retry")).scalar_one())
        yield retries
        dead = CounterMetricFamily("connectbot_dead_letters", "Messages and timers given up on.", labels=["kind"])
        dead.add_metric(["message"], counts.get("dead", 0))
        dead.add_metric(["timer"], scalar(select(func.count()).where(TIMERS.c.status == "dead")).scalar_one())
        yield dead

    def _cases(self, conn: Connection) -> Iterator[Metric]:
        now = self.clock.now()
        c = CASES.c
        open_cases = GaugeMetricFamily("connectbot_cases_open", "Handoff cases waiting for a strategist to claim them.")
        open_cases.add_metric([], conn.execute(select(func.count()).where(c.status == "open")).scalar_one())
        yield open_cases
        overdue = GaugeMetricFamily("connectbot_cases_overdue", "Open cases nobody claimed within the target time.")
        overdue.add_metric([], conn.execute(select(func.count()).where(
            c.status == "open", c.opened_at < now - self.overdue_after)).scalar_one())
        yield overdue
        took = _seconds_between(self.postgres, c.claimed_at, c.opened_at)
        count, total = conn.execute(select(func.count(), func.coalesce(func.sum(took), 0.0)).where(
            c.claimed_at.is_not(None))).one()
        claim = SummaryMetricFamily("connectbot_case_time_to_claim_seconds", "From a case opening to its claim.")
        claim.add_metric([], count_value=count, sum_value=float(total))
        yield claim

    def _workers(self, conn: Connection) -> Iterator[Metric]:
        alive = GaugeMetricFamily("connectbot_workers_alive", "Worker loops with a fresh heartbeat.")
        alive.add_metric([], conn.execute(select(func.count()).where(
            HEARTBEATS.c.stopped_at.is_(None), HEARTBEATS.c.beat_at >= self.clock.now() - self.stale_after)
        ).scalar_one())
        yield alive


def registry_for(db: DbEngine, clock: Clock, overdue_after: timedelta, stale_after: timedelta) -> CollectorRegistry:
    """A registry of this app's own (no process-global default registry)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db, clock, overdue_after, stale_after))
    return registry
