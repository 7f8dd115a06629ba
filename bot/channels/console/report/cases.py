"""What the handoff cases say per group: why they were opened, how long they waited for a person, how they were rated.

Time to claim is `claimed_at - opened_at` of every claimed case (median and 90th percentile, computed by the
database); cases still open and unclaimed are counted beside it, since their wait is not over. Satisfaction
is the one question asked after a case is resolved (Good / OK / Bad, `cases.rating`), shared over the
cases that answered it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, case, func, literal, select
from sqlalchemy import Engine as Db

from bot.channels.console.report.dialect import postgres, quantile_query, seconds_between
from bot.channels.console.report.facts import case_groups

RATINGS = ("good", "ok", "bad")


@dataclass(frozen=True)
class CaseRow:
    group: str
    opened: int
    claimed: int
    waiting: int  # open and not claimed yet
    claim_median: float | None  # seconds
    claim_p90: float | None
    resolved: int
    ratings: tuple[int, ...]  # one per RATINGS
    reasons: tuple[tuple[str, int], ...]  # most frequent first

    @property
    def rated(self) -> int:
        return sum(self.ratings)

    def rating_share(self, index: int) -> float:
        return self.ratings[index] / self.rated if self.rated else 0.0

    def reason_share(self, count: int) -> float:
        return count / self.opened if self.opened else 0.0


def case_figures(db: Db, conn: Connection, by: str) -> dict[str, CaseRow]:
    cases = case_groups(db, by)
    k = cases.c
    wait = seconds_between(db, k.claimed_at, k.opened_at)  # NULL while unclaimed
    counted = [k.grp, func.count().label("opened"),
               func.sum(case((k.claimed_at.is_not(None), 1), else_=0)).label("claimed"),
               func.sum(case(((k.status == "open") & k.claimed_at.is_(None), 1), else_=0)).label("waiting"),
               func.sum(case((k.status == "resolved", 1), else_=0)).label("resolved"),
               *(func.sum(case((k.rating == rating, 1), else_=0)).label(rating) for rating in RATINGS)]
    claim: dict[str, tuple[float | None, ...]] = {}
    if postgres(db):  # the waits' quantiles in the same GROUP BY (ordered-set aggregates skip NULLs)
        totals = conn.execute(select(*counted, func.percentile_cont(0.5).within_group(wait).label("q50"),
                                     func.percentile_cont(0.9).within_group(wait).label("q90")).group_by(k.grp)).all()
        claim = {str(r.grp): (r.q50, r.q90) for r in totals}
    else:
        totals = conn.execute(select(*counted).group_by(k.grp)).all()
        waits = (select(k.grp, literal("claim").label("what"), wait.label("value"))
                 .where(k.claimed_at.is_not(None)).subquery("claim_waits"))
        claim = {str(grp): (q50, q90)
                 for grp, _what, _n, q50, q90 in conn.execute(quantile_query(db, waits, (0.5, 0.9))).all()}
    reasons: dict[str, list[tuple[str, int]]] = {}
    for grp, reason, count in conn.execute(select(k.grp, k.reason, func.count()).group_by(k.grp, k.reason)).all():
        reasons.setdefault(str(grp), []).append((str(reason), int(count)))
    shown = {}
    for r in totals:
        grp = str(r.grp)
        q50, q90 = claim.get(grp, (None, None))
        shown[grp] = CaseRow(grp, int(r.opened), int(r.claimed or 0), int(r.waiting or 0),
                             float(q50) if q50 is not None else None, float(q90) if q90 is not None else None,
                             int(r.resolved or 0), tuple(int(r._mapping[x] or 0) for x in RATINGS),
                             tuple(sorted(reasons.get(grp, []), key=lambda item: (-item[1], item[0]))))
    return shown


def no_cases(group: str) -> CaseRow:
    return CaseRow(group, 0, 0, 0, None, None, 0, (0,) * len(RATINGS), ())
