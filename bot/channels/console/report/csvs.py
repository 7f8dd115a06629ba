"""Every figure of the report as CSV, one file per section, for spreadsheets and scripts.

The columns are ids, not words for people (the report page lists what each means): the first column
is the grouping (`all`, `channel`, `region`, `account_type` or `week`), times are seconds with one
decimal, shares are fractions from 0 to 1 with four decimals, and an empty cell means there was nothing
to measure (no conversation reached the stage, no case was claimed).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from bot.channels.console.report.cases import RATINGS
from bot.channels.console.report.facts import STAGES

if TYPE_CHECKING:
    from bot.channels.console.report import Report

Cell = str | int


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _share(value: float) -> str:
    return f"{value:.4f}"


def _funnel(report: Report) -> Iterator[list[Cell]]:
    yield [report.by, *STAGES]
    for row in report.funnel:
        yield [row.group, *row.counts]


def _steps(report: Report) -> Iterator[list[Cell]]:
    yield [report.by, "stage", "reached", "share_of_started", "lost", "lost_share", "median_s_from_start",
           "median_s_from_previous"]
    for row in report.funnel:
        for i, stage in enumerate(STAGES):
            yield [row.group, stage, row.counts[i], _share(row.share(i)), row.lost(i), _share(row.lost_share(i)),
                   _seconds(row.from_start[i]), _seconds(row.from_previous[i])]


def _handoffs(report: Report) -> Iterator[list[Cell]]:
    yield [report.by, "conversations", "handed_off", "handoff_rate", "cases_opened"]
    for row in report.funnel:
        yield [row.group, row.counts[0], row.handed_off, _share(row.handoff_rate), row.cases]


def _reasons(report: Report) -> Iterator[list[Cell]]:
    yield [report.by, "reason", "cases", "share_of_cases"]
    for row in report.cases:
        for reason, count in row.reasons:
            yield [row.group, reason, count, _share(row.reason_share(count))]


def _claims(report: Report) -> Iterator[list[Cell]]:
    yield [report.by, "cases_opened", "claimed", "waiting_unclaimed", "median_s_to_claim", "p90_s_to_claim"]
    for row in report.cases:
        yield [row.group, row.opened, row.claimed, row.waiting, _seconds(row.claim_median), _seconds(row.claim_p90)]


def _satisfaction(report: Report) -> Iterator[list[Cell]]:
    yield [report.by, "resolved", "rated", *RATINGS, *(f"{r}_share" for r in RATINGS)]
    for row in report.cases:
        yield [row.group, row.resolved, row.rated, *row.ratings,
               *(_share(row.rating_share(i)) for i in range(len(RATINGS)))]


_WRITERS: dict[str, Callable[[Report], Iterator[list[Cell]]]] = {
    "funnel": _funnel, "steps": _steps, "handoffs": _handoffs, "reasons": _reasons, "claims": _claims,
    "satisfaction": _satisfaction,
}
FIGURES = tuple(_WRITERS)


def as_csv(report: Report, figure: str = "funnel") -> str:
    out = io.StringIO()
    csv.writer(out).writerows(_WRITERS[figure if figure in _WRITERS else "funnel"](report))
    return out.getvalue()
