"""Per conversation, from the tables the bot already writes: its group and when it reached each stage.

A conversation reaches a stage when the tables show it did (no extra bookkeeping): started (it exists,
`conversations.created_at`), prerequisites passed (the journey says so, or a sign-in link went out,
which the bot sends only after them; the time is the journey's `prerequisites_at`, stamped by the
turn that passed them, else the first link's), link sent (the first sign-in attempt's `created_at`),
signed in with Amazon (Amazon gave a grant and the bot stored it: the first `connections` row, whatever
Amazon listed; a cancelled or failed sign-in stores none), verified (the first connection whose verdict
is `ok`: Amazon listed the account the customer wanted) and first sync completed (a connection whose
sync completed; the time is its `sync_updated_at`, which a completed sync never moves again).

Cases and their figures belong to the group of their conversation: its channel, the region of its first
sign-in link, its account type, and the week it started in.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, FromClause, Integer, Subquery, case, func, literal, select
from sqlalchemy import Engine as Db

from bot.channels.console.report.dialect import moment, week_of
from bot.store.rows import ATTEMPTS, CASES, CONNECTIONS, CONVERSATIONS

STAGES = ("started", "prerequisites", "link_sent", "signed_in", "verified", "first_sync")
GROUPS = ("all", "channel", "region", "account_type", "week")
# Each stage's moment in the facts subquery (NULL: not reached, or reached with no time kept).
STAGE_TIMES = ("created_at", "prerequisites_at", "link_at", "signed_at", "verified_at", "synced_at")
NO_REGION = "none yet"
NO_TYPE = "unknown"


def _links() -> Subquery:
    a = ATTEMPTS.c
    return (select(a.conversation_id, func.min(a.id).label("first_id"), func.min(a.created_at).label("link_at"))
            .where(a.kind == "signin").group_by(a.conversation_id).subquery("links"))


def _connections() -> Subquery:
    k = CONNECTIONS.c
    completed = k.sync_status == "completed"
    return (select(k.conversation_id, func.min(k.created_at).label("signed_at"),
                   func.min(case((k.verdict == "ok", k.created_at))).label("verified_at"),
                   func.max(case((completed, 1), else_=0)).label("synced"),
                   func.min(case((completed, k.sync_updated_at))).label("synced_at"))
            .group_by(k.conversation_id).subquery("linked"))


def _cases() -> Subquery:
    k = CASES.c
    return select(k.conversation_id, func.count().label("cases")).group_by(k.conversation_id).subquery("handed")


def _group(db: Db, by: str, first_region: ColumnElement[str] | None) -> ColumnElement[str]:
    c = CONVERSATIONS.c
    if by == "channel":
        return c.channel
    if by == "account_type":  # the journey's, kept beside slots by the database (migration 0007)
        return func.coalesce(c.account_type, literal(NO_TYPE))
    if by == "region" and first_region is not None:
        return func.coalesce(first_region, literal(NO_REGION))
    if by == "week":
        return week_of(db, c.created_at)
    return literal("all")


def stage_facts(db: Db, by: str) -> Subquery:
    """One row per conversation: grp, each stage's time (STAGE_TIMES), reached flags, and its number of cases."""
    c = CONVERSATIONS.c
    links, linked, handed = _links(), _connections(), _cases()
    source: FromClause = (CONVERSATIONS.outerjoin(links, links.c.conversation_id == c.id)
                          .outerjoin(linked, linked.c.conversation_id == c.id)
                          .outerjoin(handed, handed.c.conversation_id == c.id))
    first_region = None
    if by == "region":
        first = ATTEMPTS.alias("first_link")
        source = source.outerjoin(first, first.c.id == links.c.first_id)
        first_region = first.c.region
    group = _group(db, by, first_region)
    passed = c.prerequisites_ok.is_(True) | links.c.link_at.is_not(None)
    return (select(group.label("grp"), c.created_at,
                   case((passed, 1), else_=0).label("prerequisites"),
                   case((passed, func.coalesce(moment(db, c.prerequisites_at), links.c.link_at))).label(
                       "prerequisites_at"),
                   links.c.link_at, linked.c.signed_at, linked.c.verified_at,
                   func.coalesce(linked.c.synced, 0).label("synced"), linked.c.synced_at,
                   func.coalesce(handed.c.cases, 0).label("cases"))
            .select_from(source).subquery("facts"))


def case_groups(db: Db, by: str) -> Subquery:
    """Each case with its conversation's group: the cases' figures are split like the funnel."""
    c, k = CONVERSATIONS.c, CASES.c
    # everyone's figures need no conversation: the cases alone
    source: FromClause = CASES if by not in GROUPS[1:] else CASES.join(CONVERSATIONS, c.id == k.conversation_id)
    first_region: ColumnElement[str] | None = None
    if by == "region":
        a = ATTEMPTS.c
        first_region = (select(a.region).where(a.conversation_id == c.id, a.kind == "signin")
                        .order_by(a.id).limit(1).scalar_subquery())
    group = _group(db, by, first_region)
    return select(group.label("grp"), k.id, k.status, k.reason, k.opened_at, k.claimed_at, k.rating).select_from(
        source).subquery("grouped_cases")


def reached_flags(facts: Subquery) -> list[ColumnElement[int]]:
    """Per stage after `started`: 1 when the conversation reached it, else 0 (summed for the counts)."""
    f = facts.c
    return [f.prerequisites, case((f.link_at.is_not(None), 1), else_=0),
            case((f.signed_at.is_not(None), 1), else_=0), case((f.verified_at.is_not(None), 1), else_=0),
            func.coalesce(f.synced, literal(0, Integer))]
