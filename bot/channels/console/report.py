"""Where customers drop off: the connection funnel per conversation, grouped, computed by one SQL query.

A conversation reaches a stage when the tables show it did (the bot's own records, no extra bookkeeping):
started (it exists), prerequisites passed (the journey says so, or a sign-in link went out, which the bot
sends only after them), link sent (a sign-in attempt), signed in (an attempt came back), verified (a
connection was stored) and first sync completed (a connection's sync completed). The same SQL runs on
SQLite and PostgreSQL; only the week's expression differs.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, or_, select
from sqlalchemy import Engine as Db

from bot.store.rows import ATTEMPTS, CONNECTIONS, CONVERSATIONS

STAGES = ("started", "prerequisites", "link_sent", "signed_in", "verified", "first_sync")
GROUPS = ("all", "channel", "region", "account_type", "week")


@dataclass(frozen=True)
class FunnelRow:
    group: str
    counts: tuple[int, ...]  # one per stage, in STAGES order

    def share(self, index: int) -> float:
        return self.counts[index] / self.counts[0] if self.counts[0] else 0.0


def _group(db: Db, by: str) -> ColumnElement[str]:
    c = CONVERSATIONS.c
    if by == "channel":
        return c.channel
    if by == "account_type":
        return func.coalesce(c.slots["account_type"].as_string(), literal("unknown"))
    if by == "region":  # of the first sign-in link: where the customer set out to connect
        first = select(ATTEMPTS.c.region).where(ATTEMPTS.c.conversation_id == c.id).order_by(ATTEMPTS.c.id).limit(1)
        return func.coalesce(first.scalar_subquery(), literal("none yet"))
    if by == "week":  # the Monday the week starts on
        if db.dialect.name == "sqlite":
            return func.date(c.created_at, "weekday 0", "-6 days")
        return func.to_char(func.date_trunc("week", c.created_at), "YYYY-MM-DD")
    return literal("all")


def funnel(db: Db, by: str) -> list[FunnelRow]:
    c, a, k = CONVERSATIONS.c, ATTEMPTS.c, CONNECTIONS.c
    link_sent = exists().where(a.conversation_id == c.id, a.kind == "signin")
    reached: list[ColumnElement[bool]] = [
        or_(c.slots["prerequisites_ok"].as_boolean().is_(True), link_sent),
        link_sent,
        exists().where(and_(a.conversation_id == c.id, a.kind == "signin", a.used_at.is_not(None))),
        exists().where(k.conversation_id == c.id),
        exists().where(k.conversation_id == c.id, k.sync_status == "completed"),
    ]
    group = _group(db, by if by in GROUPS else "all").label("grp")
    query = (select(group, func.count().label("started"),
                    *(func.sum(case((stage, 1), else_=0)).label(name) for stage, name in zip(reached, STAGES[1:],
                                                                                              strict=True)))
             .group_by(group).order_by(group))
    with db.connect() as conn:
        rows = conn.execute(query).all()
    return [FunnelRow(str(r.grp), tuple(int(r._mapping[name] or 0) for name in STAGES)) for r in rows]


def as_csv(rows: list[FunnelRow], by: str) -> str:
    """The funnel as CSV, one row per group; the columns are the stages' ids, for spreadsheets and scripts."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([by, *STAGES])
    for row in rows:
        writer.writerow([row.group, *row.counts])
    return out.getvalue()
