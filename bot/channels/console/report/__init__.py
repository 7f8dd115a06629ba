"""Where customers drop off: the connection funnel, the handoffs and what came of them, per group.

Computed by SQL over the tables the bot already writes (bot/channels/console/report/facts.py says what
counts as reaching each stage), the same statements on SQLite and PostgreSQL but for a few expressions
(dialect.py). The console's report page and its CSV downloads (csvs.py) read one `Report`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import Engine as Db

from bot.channels.console.report.cases import RATINGS, CaseRow, case_figures, no_cases
from bot.channels.console.report.csvs import FIGURES, as_csv
from bot.channels.console.report.facts import GROUPS, STAGES
from bot.channels.console.report.funnel import FunnelRow, funnel

__all__ = ["FIGURES", "GROUPS", "RATINGS", "STAGES", "CaseRow", "FunnelRow", "Report", "as_csv", "build", "build_all"]


@dataclass(frozen=True)
class Report:
    by: str
    funnel: list[FunnelRow]  # one per group, in the groups' order
    cases: list[CaseRow]  # one per group of the funnel, in the same order (zeros where no case was opened)


def build(db: Db, by: str) -> Report:
    """One grouping's figures, computed now from the tables."""
    by = by if by in GROUPS else "all"
    with _snapshot(db) as conn:
        return _build(db, conn, by)


def build_all(db: Db) -> dict[str, Report]:
    """Every grouping's figures from one view of the tables, so their totals agree with each other."""
    with _snapshot(db) as conn:
        return {by: _build(db, conn, by) for by in GROUPS}


def _snapshot(db: Db) -> Connection:
    conn = db.connect()
    if db.dialect.name == "postgresql":  # every figure from one snapshot, however the tables move meanwhile
        conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def _build(db: Db, conn: Connection, by: str) -> Report:
    rows = funnel(db, conn, by)
    cases = case_figures(db, conn, by)
    return Report(by, rows, [cases.get(row.group) or no_cases(row.group) for row in rows])
