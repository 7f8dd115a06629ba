"""The queries of the hot path, written once as Core statements with bound parameters.

Building a SQLAlchemy statement costs more than running it on SQLite, so every statement a turn
runs is built here once and reused (SQLAlchemy memoises their compiled form). Rows come back as
small frozen records rather than ORM objects, for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import Select

from bot.clock import as_utc
from bot.store.models import (
    AmazonConnection,
    ConnectionAttempt,
    Conversation,
    HandoffCase,
    OutboxMessage,
    ProcessedKey,
    Timer,
    TranscriptEntry,
)


def table(model: type[Any]) -> Table:
    found: Table = model.__table__
    return found


CONVERSATIONS = table(Conversation)
TRANSCRIPT = table(TranscriptEntry)
KEYS = table(ProcessedKey)
TIMERS = table(Timer)
OUTBOX = table(OutboxMessage)
CASES = table(HandoffCase)
ATTEMPTS = table(ConnectionAttempt)
CONNECTIONS = table(AmazonConnection)


@dataclass(frozen=True)
class ConversationRow:
    id: int
    channel: str
    org: str
    user_id: str
    state: str
    slots: dict[str, Any]
    version: int
    created_at: datetime


@dataclass(frozen=True)
class AttemptRow:
    id: int
    conversation_id: int
    kind: str
    region: str
    marketplaces: list[str]
    account_type: str
    state_token: str
    expires_at: datetime
    used_at: datetime | None
    outcome: str = ""
    code_verifier: str = field(default="", repr=False)
    created_at: datetime | None = None


@dataclass(frozen=True)
class ConnectionSync:
    """A connection's first-sync columns: what the webhook, the poller and the simulator compare against."""

    id: int
    conversation_id: int
    sync_status: str
    sync_progress: int
    sync_updated_at: datetime | None
    created_at: datetime


def _connection_sync(row: Any) -> ConnectionSync:
    return ConnectionSync(row.id, row.conversation_id, row.sync_status, row.sync_progress,
                          as_utc(row.sync_updated_at) if row.sync_updated_at else None, as_utc(row.created_at))


_SYNC_COLUMNS = (CONNECTIONS.c.id, CONNECTIONS.c.conversation_id, CONNECTIONS.c.sync_status,
                 CONNECTIONS.c.sync_progress, CONNECTIONS.c.sync_updated_at, CONNECTIONS.c.created_at)


def _conversation(row: Any) -> ConversationRow:
    return ConversationRow(row.id, row.channel, row.org, row.user_id, row.state, dict(row.slots or {}), row.version,
                           as_utc(row.created_at))


def _attempt(row: Any) -> AttemptRow:
    return AttemptRow(row.id, row.conversation_id, row.kind, row.region, list(row.marketplaces or []),
                      row.account_type, row.state_token, as_utc(row.expires_at),
                      as_utc(row.used_at) if row.used_at else None, row.outcome, row.code_verifier,
                      as_utc(row.created_at))


class Statements:
    """Prebuilt statements for one database dialect."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    def _lockable(self, query: Select[Any]) -> Select[Any]:
        return query.with_for_update() if self.postgres else query  # SQLite locks with BEGIN IMMEDIATE

    @cached_property
    def open_by_key(self) -> Select[Any]:
        c = CONVERSATIONS.c
        return self._lockable(select(CONVERSATIONS).where(
            c.channel == bindparam("channel"), c.org == bindparam("org"), c.user_id == bindparam("user_id"),
            c.status == "open").order_by(c.id.desc()).limit(1))

    @cached_property
    def by_id(self) -> Select[Any]:
        return self._lockable(select(CONVERSATIONS).where(CONVERSATIONS.c.id == bindparam("cid")))

    @cached_property
    def record_key(self) -> Any:
        dialect_insert = pg_insert if self.postgres else sqlite_insert
        return (dialect_insert(KEYS).values(key=bindparam("key"), conversation_id=bindparam("cid"), at=bindparam("at"))
                .on_conflict_do_nothing(index_elements=["key"]).returning(KEYS.c.key))

    @cached_property
    def save_conversation(self) -> Any:
        return update(CONVERSATIONS).where(CONVERSATIONS.c.id == bindparam("cid")).values(
            state=bindparam("b_state"), slots=bindparam("b_slots"), version=bindparam("b_version"),
            updated_at=bindparam("b_now"))

    @cached_property
    def cancel_guarded(self) -> Any:
        t = TIMERS.c
        return update(TIMERS).where(t.conversation_id == bindparam("cid"), t.status == "pending",
                                    t.guard_state.in_(bindparam("states", expanding=True))).values(status="cancelled")

    @cached_property
    def cancel_kind(self) -> Any:
        t = TIMERS.c
        return update(TIMERS).where(t.conversation_id == bindparam("cid"), t.status == "pending",
                                    t.kind == bindparam("b_kind")).values(status="cancelled")

    @cached_property
    def next_due_timer(self) -> Select[Any]:
        return self._due_timers(limit=1)

    @cached_property
    def due_timers(self) -> Select[Any]:
        return self._due_timers(limit=bindparam("n"))

    def _due_timers(self, limit: Any) -> Select[Any]:
        t = TIMERS.c
        query = select(TIMERS).where(t.status == "pending", t.due_at <= bindparam("now"),
                                     or_(t.retry_at.is_(None), t.retry_at <= bindparam("now"))).order_by(
            t.due_at, t.id).limit(limit)
        return query.with_for_update(skip_locked=True) if self.postgres else query

    @cached_property
    def attempt_by_token(self) -> Select[Any]:
        return self._lockable(select(ATTEMPTS).where(ATTEMPTS.c.state_token == bindparam("token")))

    @cached_property
    def newest_unused_attempt(self) -> Select[Any]:
        a = ATTEMPTS.c
        return select(ATTEMPTS).where(a.conversation_id == bindparam("cid"), a.used_at.is_(None)).order_by(
            a.id.desc()).limit(1)

    def lock_open(self, conn: Connection, channel: str, org: str, user_id: str) -> ConversationRow | None:
        row = conn.execute(self.open_by_key, {"channel": channel, "org": org, "user_id": user_id}).first()
        return _conversation(row) if row else None

    def lock_by_id(self, conn: Connection, conversation_id: int) -> ConversationRow | None:
        row = conn.execute(self.by_id, {"cid": conversation_id}).first()
        return _conversation(row) if row else None

    def create(self, conn: Connection, channel: str, org: str, user_id: str, state: str,
               now: datetime) -> ConversationRow:
        new_id = conn.execute(insert(CONVERSATIONS).values(
            channel=channel, org=org, user_id=user_id, status="open", state=state, slots={}, version=0,
            created_at=now, updated_at=now).returning(CONVERSATIONS.c.id)).scalar_one()
        return ConversationRow(new_id, channel, org, user_id, state, {}, 0, now)

    def attempt(self, conn: Connection, token: str) -> AttemptRow | None:
        row = conn.execute(self.attempt_by_token, {"token": token}).first()
        return _attempt(row) if row else None

    def newest_unused(self, conn: Connection, conversation_id: int) -> AttemptRow | None:
        row = conn.execute(self.newest_unused_attempt, {"cid": conversation_id}).first()
        return _attempt(row) if row else None

    def transcript(self, conn: Connection, conversation_id: int) -> list[Any]:
        return list(conn.execute(select(TRANSCRIPT).where(TRANSCRIPT.c.conversation_id == conversation_id)
                                 .order_by(TRANSCRIPT.c.id)).all())

    def lock_connection(self, conn: Connection, connection_id: int) -> ConnectionSync | None:
        row = conn.execute(self._lockable(select(*_SYNC_COLUMNS).where(CONNECTIONS.c.id == connection_id))).first()
        return _connection_sync(row) if row else None

    def latest_connection(self, conn: Connection, conversation_id: int) -> ConnectionSync | None:
        row = conn.execute(select(*_SYNC_COLUMNS).where(CONNECTIONS.c.conversation_id == conversation_id)
                           .order_by(CONNECTIONS.c.id.desc()).limit(1)).first()
        return _connection_sync(row) if row else None

    def syncing_connections(self, conn: Connection, limit: int) -> list[ConnectionSync]:
        """Connections whose first sync has not finished: what the poller and the simulator watch."""
        rows = conn.execute(select(*_SYNC_COLUMNS).where(CONNECTIONS.c.sync_status.in_(("pending", "in_progress")))
                            .order_by(CONNECTIONS.c.id).limit(limit)).all()
        return [_connection_sync(row) for row in rows]

    def key_seen(self, conn: Connection, key: str) -> bool:
        return conn.execute(select(KEYS.c.key).where(KEYS.c.key == key)).first() is not None

    def earliest_due(self, conn: Connection) -> datetime | None:
        due = conn.execute(select(func.min(TIMERS.c.due_at)).where(TIMERS.c.status == "pending")).scalar()
        return as_utc(due) if due else None
