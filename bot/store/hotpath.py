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

from sqlalchemy import Connection, Dialect, bindparam, exists, insert, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.clock import as_utc
from bot.store.bulk import PgBulk
from bot.store.prepared import Prepared
from bot.store.rows import ATTEMPTS, CONVERSATIONS, KEYS, OUTBOX, TIMERS, TRANSCRIPT, AttemptRow, ConversationRow

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


def _attempt(values: tuple[Any, ...]) -> AttemptRow:
    aid, cid, kind, region, marketplaces, account_type, token, expires_at, used_at, outcome, verifier, created = values
    return AttemptRow(aid, cid, kind, region, list(marketplaces or []), account_type, token, as_utc(expires_at),
                      as_utc(used_at) if used_at else None, outcome, verifier, as_utc(created))


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
        self._tables = {table.name: table for table in (TRANSCRIPT, OUTBOX, TIMERS, ATTEMPTS)}
        self._inserts = {name: Prepared(insert(table).inline(), dialect, _INSERTED[name])
                         for name, table in self._tables.items()}
        self.bulk = PgBulk(dialect) if self.postgres else None  # many rows in one statement (bot/store/bulk.py)
        self._cancels: dict[tuple[int, int], Prepared] = {}
        t = TIMERS.c
        self._cancel_pair = Prepared(update(TIMERS).where(
            t.conversation_id == bindparam("cid"), t.status == "pending",
            or_(t.guard_state == bindparam("s", type_=t.guard_state.type), t.kind == bindparam("k", type_=t.kind.type)))
            .values(status=literal("cancelled")), dialect)
        a = ATTEMPTS.c
        attempt_columns = (a.id, a.conversation_id, a.kind, a.region, a.marketplaces, a.account_type, a.state_token,
                           a.expires_at, a.used_at, a.outcome, a.code_verifier, a.created_at)
        by_token = select(*attempt_columns).where(a.state_token == bindparam("token"))
        self._attempt = Prepared(by_token.with_for_update() if self.postgres else by_token, dialect)
        self._newest_unused = Prepared(select(*attempt_columns).where(
            a.conversation_id == bindparam("cid"), a.used_at.is_(None)).order_by(a.id.desc()).limit(1), dialect)
        self._use_attempt = Prepared(update(ATTEMPTS).where(a.id == bindparam("aid")).values(
            used_at=bindparam("b_used_at"), outcome=bindparam("b_outcome"), result=bindparam("b_result")), dialect)
        self._mark_timer = Prepared(update(TIMERS).where(t.id == bindparam("tid")).values(
            status=bindparam("b_status"), fired_at=bindparam("b_now")), dialect)
        self._columns = columns
        self._sized: dict[tuple[str, int], Prepared] = {}  # statements over n rows, built the first time n occurs
        self._advisory = Prepared(text("SELECT pg_advisory_xact_lock(:k)"), dialect)

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
        self._advisory.run(conn, {"k": digest}).close()

    def record_key(self, conn: Connection, key: str, conversation_id: int, at: datetime) -> bool:
        """Record an inbound's idempotency key; False when it was recorded before (a duplicate)."""
        return self._record_key.first(conn, {"key": key, "cid": conversation_id, "at": at}) is not None

    # ---- a batch of timer turns (bot/engine/timers.py) -----------------------------------------

    def lock_many(self, conn: Connection, conversation_ids: list[int]) -> dict[int, ConversationRow]:
        """These conversations, locked in id order in one statement (so two batches cannot deadlock)."""
        prepared = self._sized.get(("lock", len(conversation_ids)))
        if prepared is None:
            c = CONVERSATIONS.c
            query = select(*self._columns).where(c.id.in_(
                [bindparam(f"c{i}", type_=c.id.type) for i in range(len(conversation_ids))])).order_by(c.id)
            prepared = self._sized[("lock", len(conversation_ids))] = Prepared(
                query.with_for_update() if self.postgres else query, self.dialect)
        found = prepared.rows(conn, {f"c{i}": cid for i, cid in enumerate(conversation_ids)})
        return {row[0]: _row(row) for row in found}

    def record_keys(self, conn: Connection, keys: list[tuple[str, int]], at: datetime) -> set[str]:
        """Record (key, conversation id) pairs in one statement; returns the keys not recorded before."""
        if not keys:
            return set()
        prepared = self._sized.get(("keys", len(keys)))
        if prepared is None:
            k = KEYS.c
            rows = [{"key": bindparam(f"k{i}", type_=k.key.type), "conversation_id": bindparam(
                f"c{i}", type_=k.conversation_id.type), "at": bindparam("at", type_=k.at.type)}
                for i in range(len(keys))]
            prepared = self._sized[("keys", len(keys))] = Prepared(
                (pg_insert if self.postgres else sqlite_insert)(KEYS).values(rows)
                .on_conflict_do_nothing(index_elements=["key"]).returning(k.key), self.dialect)
        values: dict[str, Any] = {"at": at}
        for i, (key, cid) in enumerate(keys):
            values[f"k{i}"], values[f"c{i}"] = key, cid
        return {row[0] for row in prepared.rows(conn, values)}

    def mark_timers(self, conn: Connection, statuses: list[tuple[int, str]], now: datetime) -> None:
        """Each timer's new status (fired | cancelled), one executemany for the batch."""
        if self.bulk is not None:
            self.bulk.mark_timers(conn, statuses, now)
            return
        self._mark_timer.many(conn, [{"tid": tid, "b_status": status, "b_now": now} for tid, status in statuses])

    def save_many(self, conn: Connection, saves: list[tuple[int, str, str, int]], now: datetime) -> None:
        """(conversation id, state, slots JSON, version) per conversation of a batch, one executemany."""
        if self.bulk is not None:
            self.bulk.save(conn, saves, now)
            return
        self._save.many(conn, [{"cid": cid, "b_state": state, "b_slots": slots, "b_version": version, "b_now": now}
                               for cid, state, slots, version in saves])

    # ---- links ----------------------------------------------------------------------------------

    def attempt(self, conn: Connection, token: str) -> AttemptRow | None:
        """A link by its state token (locked for the transaction on PostgreSQL)."""
        found = self._attempt.first(conn, {"token": token})
        return _attempt(found) if found else None

    def newest_unused(self, conn: Connection, conversation_id: int) -> AttemptRow | None:
        found = self._newest_unused.first(conn, {"cid": conversation_id})
        return _attempt(found) if found else None

    def use_attempt(self, conn: Connection, attempt_id: int, used_at: datetime, outcome: str,
                    result: dict[str, Any]) -> None:
        self._use_attempt.run(conn, {"aid": attempt_id, "b_used_at": used_at, "b_outcome": outcome,
                                     "b_result": result}).close()

    # ---- writes -------------------------------------------------------------------------------

    def cancel_timers(self, conn: Connection, states: list[tuple[int, str]], kinds: list[tuple[int, str]]) -> None:
        """Cancel the pending timers guarding (conversation, state) or of (conversation, kind): one statement
        for one conversation's turn, one executemany (pipelined on PostgreSQL) for a batch of turns."""
        conversations = {cid for cid, _ in states} | {cid for cid, _ in kinds}
        if len(conversations) > 1 and self.bulk is not None:
            self.bulk.cancel(conn, [(cid, state, None) for cid, state in states]
                             + [(cid, None, kind) for cid, kind in kinds])
            return
        if len(conversations) > 1:
            self._cancel_pair.many(conn, [{"cid": cid, "s": state, "k": None} for cid, state in states]
                                   + [{"cid": cid, "s": None, "k": kind} for cid, kind in kinds])
            return
        if not conversations:
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
        values: dict[str, Any] = {"cid": conversations.pop()}
        values.update({f"s{i}": s for i, (_, s) in enumerate(states)})
        values.update({f"k{i}": k for i, (_, k) in enumerate(kinds)})
        prepared.run(conn, values).close()

    def insert(self, conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
        prepared = self._inserts[table]
        if len(rows) == 1:
            prepared.run(conn, rows[0]).close()
        elif self.bulk is not None:
            self.bulk.insert(conn, self._tables[table], rows, prepared.defaults)
        else:
            prepared.many(conn, rows)

    def save(self, conn: Connection, conversation_id: int, state: str, slots_json: str, version: int,
             now: datetime) -> None:
        """The conversation's new state; `slots_json` is the journey serialised already (pydantic's JSON)."""
        self._save.run(conn, {"cid": conversation_id, "b_state": state, "b_slots": slots_json, "b_version": version,
                              "b_now": now}).close()
