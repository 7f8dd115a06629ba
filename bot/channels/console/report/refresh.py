"""The worker's part of the report: compute every grouping's figures ahead, one worker at a time, every period.

Who refreshes is decided by one conditional UPDATE of the single `report_refresh` row: a worker takes the
turn only when the refresh is due and nobody holds an unexpired lease on it, which on both databases lets
exactly one of several workers through (PostgreSQL re-checks the WHERE after waiting on the row lock; SQLite
writes one at a time). The winner computes, stores the snapshots and sets the next due time; a worker that
dies mid-refresh leaves a lease that runs out after LEASE, and the next look takes it over.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine as Db
from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError

from bot.channels.console.report import build_all
from bot.channels.console.report.snapshot import save
from bot.clock import Clock, as_utc
from bot.store.models import ReportRefresh
from bot.store.rows import table

log = logging.getLogger("connectbot.report")

REFRESH = table(ReportRefresh)
ROW = "report"
LEASE = timedelta(minutes=10)  # far above a refresh's seconds, so a slow refresh is never run twice at once
LOOK_EVERY_MAX = 10.0  # seconds: workers look at the due time at least this often


@dataclass(frozen=True)
class Refreshed:
    took_ms: float  # computing every grouping
    groupings: int


def take_turn(db: Db, worker: str, now: datetime) -> bool:
    """True when this worker is the one to refresh now (the refresh is due and no live lease is held)."""
    r = REFRESH.c
    with db.begin() as conn:
        taken = conn.execute(update(REFRESH).where(
            r.name == ROW, r.due_at <= now, or_(r.lease_until.is_(None), r.lease_until <= now))
            .values(holder=worker, lease_until=now + LEASE))
    return taken.rowcount == 1


def due_at(db: Db) -> datetime | None:
    with db.connect() as conn:
        due = conn.execute(select(REFRESH.c.due_at).where(REFRESH.c.name == ROW)).scalar()
    return as_utc(due) if due else None


def refresh(db: Db, clock: Clock) -> Refreshed:
    """Compute every grouping's figures now and store them (whoever holds the turn calls this)."""
    at = clock.now()
    start = time.perf_counter()
    reports = build_all(db)
    took = (time.perf_counter() - start) * 1000
    with db.begin() as conn:
        for report in reports.values():  # each grouping's share of the time is not known apart: the whole is kept
            save(conn, report, at, took)
    return Refreshed(took, len(reports))


def refresh_if_due(db: Db, clock: Clock, worker: str, period_seconds: float) -> Refreshed | None:
    """Refresh when due and this worker gets the turn; otherwise nothing (None)."""
    now = clock.now()
    due = due_at(db)
    if due is None or due > now or not take_turn(db, worker, now):
        return None
    r = REFRESH.c
    mine = (r.name == ROW) & (r.holder == worker)
    try:
        done = refresh(db, clock)
    except BaseException:  # the turn is handed back at once: the next look tries again
        with db.begin() as conn:
            conn.execute(update(REFRESH).where(mine).values(lease_until=None))
        raise
    with db.begin() as conn:
        conn.execute(update(REFRESH).where(mine).values(
            lease_until=None, due_at=clock.now() + timedelta(seconds=period_seconds)))
    log.info("report figures refreshed in %.0f ms", done.took_ms)
    return done


def look_every(period_seconds: float) -> float:
    return min(LOOK_EVERY_MAX, max(0.5, period_seconds / 4))


def run_refresher(db: Db, clock: Clock, worker: str, period_seconds: float, stop: threading.Event) -> None:
    """The worker's refresh loop, in a thread of its own: a refresh takes seconds at scale, which must not hold
    up the timers and the outbox of the worker's main loop."""
    while not stop.is_set():
        try:
            refresh_if_due(db, clock, worker, period_seconds)
        except DBAPIError as exc:  # the database is away: one plain line per look, no traceback
            log.warning("refreshing the report's figures failed (%s); will retry", type(exc.orig or exc).__name__)
        except Exception:
            log.exception("refreshing the report's figures failed; will retry")
        stop.wait(look_every(period_seconds))
