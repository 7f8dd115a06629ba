"""The few expressions the report writes differently on SQLite and PostgreSQL: time spans, weeks, quantiles.

Quantiles are PostgreSQL's `percentile_cont` (linear interpolation between the two nearest ranks). SQLite
has no such aggregate, so there the same number is computed with window functions: each sample's rank
and its group's size, then the value at rank 1 + q * (n - 1), interpolated between its two neighbours.
Both give what `statistics.quantiles(method="inclusive")` gives, and the median of an even count is the
mean of the middle two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, DateTime, Float, Integer, Subquery, case, cast, func, literal, select
from sqlalchemy import Engine as Db


def postgres(db: Db) -> bool:
    return db.dialect.name == "postgresql"


def moment(db: Db, text: ColumnElement[str]) -> ColumnElement[Any]:
    """An ISO-8601 string (a time kept in the journey's JSON) as something `seconds_between` takes."""
    if postgres(db):
        return cast(text, DateTime(timezone=True))
    return text  # SQLite's julianday() reads the ISO form as it is


def seconds_between(db: Db, later: ColumnElement[object], earlier: ColumnElement[object]) -> ColumnElement[float]:
    if postgres(db):
        return cast(func.extract("epoch", later - earlier), Float)
    # julianday()'s doubles carry about 50 microseconds of noise at today's dates: whole milliseconds are exact
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)


def week_of(db: Db, at: ColumnElement[object]) -> ColumnElement[str]:
    """The Monday (YYYY-MM-DD, UTC) of the week `at` falls in."""
    if postgres(db):
        return func.to_char(func.date_trunc("week", func.timezone("UTC", at)), "YYYY-MM-DD")
    return func.date(at, "weekday 0", "-6 days")


def quantile_query(db: Db, samples: Subquery, qs: Sequence[float]) -> Any:
    """The statement: rows of (grp, what, n, q0, q1, ...) for the samples' columns grp, what, value."""
    s = samples.c
    if postgres(db):
        return (select(s.grp, s.what, func.count().label("n"),
                       *(func.percentile_cont(q).within_group(s.value).label(f"q{i}") for i, q in enumerate(qs)))
                .group_by(s.grp, s.what))
    partition = (s.grp, s.what)
    ranked = select(s.grp, s.what, s.value,
                    func.row_number().over(partition_by=partition, order_by=s.value).label("rn"),
                    func.count().over(partition_by=partition).label("n")).subquery()
    r = ranked.c
    columns: list[ColumnElement[object]] = []
    for i, q in enumerate(qs):
        position = 1.0 + literal(q, Float) * (r.n - 1)
        low = cast(position, Integer)  # positions are at least 1, so truncating is the floor
        low_value = func.max(case((r.rn == low, r.value)))
        high_value = func.max(case((r.rn == low + 1, r.value)))
        # the fraction of the way from the lower rank to the next; the top rank has no next
        fraction = func.max(case((r.rn == low, position - low)))
        columns.append((low_value + func.coalesce(fraction * (high_value - low_value), 0.0)).label(f"q{i}"))
    return select(r.grp, r.what, func.max(r.n).label("n"), *columns).group_by(r.grp, r.what)
