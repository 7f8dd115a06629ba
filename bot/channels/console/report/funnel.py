"""The connection funnel per group: how many reached each stage, how many were lost at each step, how long it took.

Counts, handoffs and times come from the per-conversation facts: for each conversation and stage reached,
the seconds since it started and since the stage before, whose median the database computes. On
PostgreSQL that is one GROUP BY (percentile_cont per span, NULLs skipped); on SQLite the spans become
samples ranked by window functions (bot/channels/console/report/dialect.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Subquery, case, func, literal, select, union_all
from sqlalchemy import Engine as Db

from bot.channels.console.report.dialect import postgres, quantile_query, seconds_between
from bot.channels.console.report.facts import STAGE_TIMES, STAGES, reached_flags, stage_facts

Seconds = float | None


@dataclass(frozen=True)
class FunnelRow:
    group: str
    counts: tuple[int, ...]  # one per stage, in STAGES order
    from_start: tuple[Seconds, ...] = ()  # median seconds from the start to each stage (None: nobody, or no time)
    from_previous: tuple[Seconds, ...] = ()  # median seconds from the stage before to each stage
    handed_off: int = 0  # conversations with at least one case
    cases: int = 0  # cases opened

    def share(self, index: int) -> float:
        """Of those who started, the share that reached this stage."""
        return self.counts[index] / self.counts[0] if self.counts[0] else 0.0

    def lost(self, index: int) -> int:
        """How many reached the stage before and not this one (0 for the first stage)."""
        return self.counts[index - 1] - self.counts[index] if index else 0

    def lost_share(self, index: int) -> float:
        """The share of those who reached the stage before that this step lost."""
        before = self.counts[index - 1] if index else 0
        return self.lost(index) / before if before else 0.0

    @property
    def handoff_rate(self) -> float:
        return self.handed_off / self.counts[0] if self.counts[0] else 0.0


def _spans(db: Db, facts: Subquery) -> list[tuple[str, ColumnElement[float]]]:
    """Per conversation, seconds since the start ('start:<stage>') and since the stage before ('step:<stage>')."""
    f = facts.c
    spans = []
    for index, (stage, column) in enumerate(zip(STAGES, STAGE_TIMES, strict=True)):
        if index:
            spans.append((f"start:{stage}", seconds_between(db, f[column], f.created_at)))
        if index > 1:
            spans.append((f"step:{stage}", seconds_between(db, f[column], f[STAGE_TIMES[index - 1]])))
    return spans


def _counts(facts: Subquery) -> list[ColumnElement[Any]]:
    f = facts.c
    return [f.grp, func.count().label("started"),
            *(func.sum(flag).label(name) for flag, name in zip(reached_flags(facts), STAGES[1:], strict=True)),
            func.sum(case((f.cases > 0, 1), else_=0)).label("handed_off"), func.sum(f.cases).label("cases")]


def _medians(db: Db, conn: Connection, by: str) -> tuple[list[Any], dict[tuple[str, str], Seconds]]:
    """The count rows and the medians, in one pass over the facts where the database can."""
    facts = stage_facts(db, by)
    spans = _spans(db, facts)
    medians: dict[tuple[str, str], Seconds] = {}
    if postgres(db):  # ordered-set aggregates skip NULLs: every span's median in the same GROUP BY
        rows = conn.execute(select(*_counts(facts), *(func.percentile_cont(0.5).within_group(span).label(f"m{i}")
                                                      for i, (_, span) in enumerate(spans)))
                            .group_by(facts.c.grp).order_by(facts.c.grp)).all()
        for r in rows:
            for i, (what, _) in enumerate(spans):
                value = r._mapping[f"m{i}"]
                medians[(str(r.grp), what)] = float(value) if value is not None else None
        return list(rows), medians
    rows = conn.execute(select(*_counts(facts)).group_by(facts.c.grp).order_by(facts.c.grp)).all()
    samples = union_all(*(select(facts.c.grp, literal(what).label("what"), span.label("value")).where(span.is_not(None))
                          for what, span in spans)).subquery("stage_samples")
    for grp, what, _n, median in conn.execute(quantile_query(db, samples, (0.5,))).all():
        medians[(str(grp), str(what))] = float(median) if median is not None else None
    return list(rows), medians


def funnel(db: Db, conn: Connection, by: str) -> list[FunnelRow]:
    rows, medians = _medians(db, conn, by)
    shown = []
    for r in rows:
        grp = str(r.grp)
        from_start = (None, *(medians.get((grp, f"start:{s}")) for s in STAGES[1:]))
        # the first step starts at the start
        from_previous = (None, from_start[1], *(medians.get((grp, f"step:{s}")) for s in STAGES[2:]))
        shown.append(FunnelRow(grp, tuple(int(r._mapping[name] or 0) for name in STAGES), from_start, from_previous,
                               handed_off=int(r.handed_off or 0), cases=int(r.cases or 0)))
    return shown

