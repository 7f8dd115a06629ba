"""The report's figures kept ahead of time: one row per grouping, which the page reads instead of computing them.

Exact medians over every conversation cost about a second per view at 100,000 conversations (README, "The
support console" benchmark), so the worker computes every grouping every REPORT_REFRESH_SECONDS
(refresh.py) and a view reads one small row. The page says how old its figures are. A page that finds no
snapshot, or one older than STALE_AFTER refresh periods (no worker running, or it is stuck), computes the
figures itself and keeps them, so the next views are quick again and never older than that.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy import Engine as Db
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.channels.console.report import GROUPS, CaseRow, FunnelRow, Report, build
from bot.clock import as_utc
from bot.store.models import ReportSnapshot
from bot.store.rows import table

SNAPSHOTS = table(ReportSnapshot)
STALE_AFTER = 3  # refresh periods: older figures than this are computed again by the page that wants them


@dataclass(frozen=True)
class Shown:
    report: Report
    as_of: datetime  # when the figures were computed (UTC)
    took_ms: float  # how long computing them took


def encode(report: Report) -> dict[str, Any]:
    return {"by": report.by, "funnel": [asdict(row) for row in report.funnel],
            "cases": [asdict(row) for row in report.cases]}


def decode(figures: dict[str, Any]) -> Report:
    funnel = [FunnelRow(r["group"], tuple(r["counts"]), tuple(r["from_start"]), tuple(r["from_previous"]),
                        r["handed_off"], r["cases"]) for r in figures["funnel"]]
    cases = [CaseRow(r["group"], r["opened"], r["claimed"], r["waiting"], r["claim_median"], r["claim_p90"],
                     r["resolved"], tuple(r["ratings"]), tuple((str(n), int(c)) for n, c in r["reasons"]))
             for r in figures["cases"]]
    return Report(str(figures["by"]), funnel, cases)


def save(conn: Connection, report: Report, computed_at: datetime, took_ms: float) -> None:
    values = {"grouping": report.by, "computed_at": computed_at, "took_ms": took_ms, "figures": encode(report)}
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(SNAPSHOTS).values(**values)
    conn.execute(statement.on_conflict_do_update(index_elements=[SNAPSHOTS.c.grouping],
                                                 set_={k: statement.excluded[k] for k in values if k != "grouping"}))


def load(db: Db, by: str) -> Shown | None:
    s = SNAPSHOTS.c
    with db.connect() as conn:
        row = conn.execute(select(s.computed_at, s.took_ms, s.figures).where(s.grouping == by)).first()
    if row is None:
        return None
    return Shown(decode(dict(row.figures)), as_utc(row.computed_at).astimezone(UTC), float(row.took_ms))


def computed(db: Db, by: str, now: datetime) -> Shown:
    """The figures computed now, and kept for the views that follow."""
    start = time.perf_counter()
    report = build(db, by)
    took = (time.perf_counter() - start) * 1000
    with db.begin() as conn:
        save(conn, report, now, took)
    return Shown(report, as_utc(now).astimezone(UTC), took)


def served(db: Db, by: str, now: datetime, refresh_seconds: float) -> Shown:
    """What a view of the report shows: the kept figures while they are recent enough, else computed now."""
    by = by if by in GROUPS else "all"
    kept = load(db, by)
    if kept is not None and as_utc(now) - kept.as_of <= timedelta(seconds=STALE_AFTER * refresh_seconds):
        return kept
    return computed(db, by, now)
