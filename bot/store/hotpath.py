"""The statements of a turn, prepared once per engine (bot/store/prepared.py) and as few as a turn allows.

A turn is: lock the conversation and record the inbound's idempotency key; cancel the timers it
leaves behind; insert its transcript, outbox, timer and link rows (one statement per table, all
rows at once); save the conversation. On PostgreSQL the lock and the key are one statement
(a data-modifying CTE), and the advisory lock that keeps two first messages from creating a
conversation twice is only taken when there is no open conversation yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Dialect, bindparam, exists, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.clock import as_utc
from bot.store.prepared import Prepared
from bot.store.rows import ATTEMPTS, CONVERSATIONS, KEYS, OUTBOX, TIMERS, TRANSCRIPT, ConversationRow

_INSERTED = {  # what a turn writes per table, in the order Writes gathers them
    TRANSCRIPT.name: ("conversation_id", "at", "direction", "kind", "topic", "text", "data"),
    OUTBOX.name: ("conversation_id", "audience", "topic", "payload", "created_at", "delivered_at"),
    TIMERS.name: ("conversation_id", "kind", "guard_state", "due_at", "status", "created_at", "fired_at"),
    ATTEMPTS.name: ("conversation_id", "kind", "region", "marketplaces", "account_type", "state_token",
                    "code_verifier", "created_at", "expires_at", "used_at", "outcome", "result"),
}


def _row(values: tuple[Any, ...]) -> ConversationRow:
    cid, channel, org, user_id, state, slots, version, created_at = values[:8]
    return ConversationRow(cid, channel, org, user_id, state, dict(slots or {}), version, as_utc(created_at))


class TurnStatements:
    """The prepared statements of one engine's turns (one dialect)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.postgres = dialect.name == "postgresql"
        c = CONVERSATIONS.c
        columns = (c.id, c.channel, c.org, c.user_id, c.state, c.slots, c.version, c.created_at)
        by_key = select(*columns).where(
            c.channel == bindparam("channel"), c.org == bindparam("org"), c.user_id == bindparam("user_id"),
            c.status == "open").order_by(c.id.desc()).limit(1)
        by_id = select(*columns).where(c.id == bindparam("cid"))
        if self.postgres:
            # Lock the row, then record the key against it, in one round trip: `fresh` is false for a duplicate.
            locked = by_key.with_for_update().cte("locked")
            recorded = (pg_insert(KEYS).from_select(
                ["key", "conversation_id", "at"],
                select(bindparam("key", type_=KEYS.c.key.type), locked.c.id, bindparam("at", type_=KEYS.c.at.type)))
                .on_conflict_do_nothing(index_elements=["key"]).returning(KEYS.c.key).cte("recorded"))
            self._lock_recording: Prepared | None = Prepared(
                select(*locked.c, exists(select(recorded.c.key)).label("fresh")), dialect)
        else:
            self._lock_recording = None
        self._lock_open = Prepared(by_key.with_for_update() if self.postgres else by_key, dialect)
        self._record_key = Prepared((pg_insert if self.postgres else sqlite_insert)(KEYS).values(
            key=bindparam("key"), conversation_id=bindparam("cid"), at=bindparam("at"))
            .on_conflict_do_nothing(index_elements=["key"]).returning(KEYS.c.key), dialect)
        self._save = Prepared(update(CONVERSATIONS).where(c.id == bindparam("cid")).values(
            state=bindparam("b_state"), slots=bindparam("b_slots"), version=bindparam("b_version"),
            updated_at=bindparam("b_now")), dialect, raw=("b_slots",))
        self._by_id = Prepared(by_id.with_for_update() if self.postgres else by_id, dialect)
        self._create = Prepared(insert(CONVERSATIONS).returning(c.id), dialect, (
            "channel", "org", "user_id", "status", "state", "slots", "version", "created_at", "updated_at"))
        self._inserts = {table.name: Prepared(insert(table).inline(), dialect, _INSERTED[table.name])
                         for table in (TRANSCRIPT, OUTBOX, TIMERS, ATTEMPTS)}
        self._cancels: dict[tuple[int, int], Prepared] = {}
        self._advisory = "SELECT pg_advisory_xact_lock(%(k)s)"

    # ---- locking and the key ------------------------------------------------------------------

    def lock_open(self, conn: Connection, channel: str, org: str, user_id: str) -> ConversationRow | None:
        found = self._lock_open.first(conn, {"channel": channel, "org": org, "user_id": user_id})
        return _row(found) if found else None

    def lock_by_id(self, conn: Connection, conversation_id: int) -> ConversationRow | None:
        found = self._by_id.first(conn, {"cid": conversation_id})
        return _row(found) if found else None

    def create(self, conn: Connection, channel: str, org: str, user_id: str, state: str,
               now: datetime) -> ConversationRow:
        cursor = self._create.run(conn, dict(channel=channel, org=org, user_id=user_id, status="open", state=state,
                                             slots={}, version=0, created_at=now, updated_at=now))
        new_id = cursor.fetchone()[0]
        cursor.close()
        return ConversationRow(new_id, channel, org, user_id, state, {}, 0, now)

    def lock_open_recording(self, conn: Connection, channel: str, org: str, user_id: str, key: str,
                            at: datetime) -> tuple[ConversationRow, bool] | None:
        """PostgreSQL: the open conversation locked and the key recorded against it (False: seen before)."""
        assert self._lock_recording is not None
        found = self._lock_recording.first(conn, {"channel": channel, "org": org, "user_id": user_id,
                                                  "key": key, "at": at})
        return (_row(found), bool(found[8])) if found else None

    def advisory_lock(self, conn: Connection, digest: int) -> None:
        cursor = conn.connection.cursor()
        cursor.execute(self._advisory, {"k": digest})
        cursor.close()

    def record_key(self, conn: Connection, key: str, conversation_id: int, at: datetime) -> bool:
        """Record an inbound's idempotency key; False when it was recorded before (a duplicate)."""
        return self._record_key.first(conn, {"key": key, "cid": conversation_id, "at": at}) is not None

    # ---- writes -------------------------------------------------------------------------------

    def cancel_timers(self, conn: Connection, conversation_id: int, states: list[str], kinds: list[str]) -> None:
        """Cancel the pending timers guarding any of `states` or of any of `kinds`, in one statement."""
        if not states and not kinds:
            return
        shape = (len(states), len(kinds))
        prepared = self._cancels.get(shape)
        if prepared is None:
            t = TIMERS.c
            which = [t.guard_state == bindparam(f"s{i}", type_=t.guard_state.type) for i in range(shape[0])]
            which += [t.kind == bindparam(f"k{i}", type_=t.kind.type) for i in range(shape[1])]
            prepared = self._cancels[shape] = Prepared(update(TIMERS).where(
                t.conversation_id == bindparam("cid"), t.status == "pending", or_(*which)).values(
                status=literal("cancelled")), self.dialect)
        values: dict[str, Any] = {"cid": conversation_id}
        values.update({f"s{i}": s for i, s in enumerate(states)})
        values.update({f"k{i}": k for i, k in enumerate(kinds)})
        prepared.run(conn, values).close()

    def insert(self, conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
        prepared = self._inserts[table]
        if len(rows) == 1:
            prepared.run(conn, rows[0]).close()
        else:
            prepared.many(conn, rows)

    def save(self, conn: Connection, conversation_id: int, state: str, slots_json: str, version: int,
             now: datetime) -> None:
        """The conversation's new state; `slots_json` is the journey serialised already (pydantic's JSON)."""
        self._save.run(conn, {"cid": conversation_id, "b_state": state, "b_slots": slots_json, "b_version": version,
                              "b_now": now}).close()
