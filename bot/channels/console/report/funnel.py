"""The connection funnel per group: how many reached each stage, how many were lost at each step, how long it took.

Counts and handoffs are one grouped query over the per-conversation facts; the times are samples (one per
conversation and stage reached: seconds since it started, and since the stage before) whose median the
database computes (bot/channels/console/report/dialect.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Subquery, case, func, literal, select, union_all
from sqlalchemy import Engine as Db

from bot.channels.console.report.dialect import quantile_query, seconds_between
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


def _samples(db: Db, facts: Subquery) -> Subquery:
    """(grp, what, value): 'start:<stage>' and 'step:<stage>' seconds for every conversation that reached it."""
    f = facts.c
    parts = []
    for index, (stage, column) in enumerate(zip(STAGES, STAGE_TIMES, strict=True)):
        if index == 0:
            continue
        at: ColumnElement[object] = f[column]
        before: ColumnElement[object] = f[STAGE_TIMES[index - 1]]
        parts.append(select(f.grp, literal(f"start:{stage}").label("what"),
                            seconds_between(db, at, f.created_at).label("value")).where(at.is_not(None)))
        if index > 1:
            parts.append(select(f.grp, literal(f"step:{stage}").label("what"),
                                seconds_between(db, at, before).label("value"))
                         .where(at.is_not(None), before.is_not(None)))
    return union_all(*parts).subquery("stage_samples")


def funnel(db: Db, conn: Connection, by: str) -> list[FunnelRow]:
    facts = stage_facts(db, by)
    f = facts.c
    counts = (select(f.grp, func.count().label("started"),
                     *(func.sum(flag).label(name) for flag, name in zip(reached_flags(facts), STAGES[1:], strict=True)),
                     func.sum(case((f.cases > 0, 1), else_=0)).label("handed_off"),
                     func.sum(f.cases).label("cases"))
              .group_by(f.grp).order_by(f.grp))
    rows = conn.execute(counts).all()
    medians: dict[tuple[str, str], Seconds] = {}
    for grp, what, _n, median in conn.execute(quantile_query(db, _samples(db, stage_facts(db, by)), (0.5,))).all():
        medians[(str(grp), str(what))] = float(median) if median is not None else None
    shown = []
    for r in rows:
        grp = str(r.grp)
        from_start = (None, *(medians.get((grp, f"start:{s}")) for s in STAGES[1:]))
        # the first step starts at the start
        from_previous = (None, from_start[1], *(medians.get((grp, f"step:{s}")) for s in STAGES[2:]))
        shown.append(FunnelRow(grp, tuple(int(r._mapping[name] or 0) for name in STAGES), from_start, from_previous,
                               handed_off=int(r.handed_off or 0), cases=int(r.cases or 0)))
    return shown

