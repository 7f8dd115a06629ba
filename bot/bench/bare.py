"""The yardstick beside the bot's figures: a bare 4-statement transaction with SQLAlchemy Core.

Select the conversation row (FOR UPDATE on PostgreSQL), insert a transcript row and an outbox row,
update the conversation: what any turn must at least cost on that database, with nothing of the
bot's (no classifier, flows, templates or bookkeeping). It runs on the bot's own engine, so pool,
pragmas and BEGIN IMMEDIATE are the ones bot/store/db.py sets up, against the bot's tables.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, update

from bot.bench.figures import Stopwatch
from bot.store.rows import CONVERSATIONS, OUTBOX, TRANSCRIPT

ORG = "bare"


class BareTransaction:
    """Bare transactions over `conversations` rows of their own, taken round-robin."""

    def __init__(self, db: Engine, conversations: int = 200) -> None:
        self.db = db
        c = CONVERSATIONS.c
        query = select(CONVERSATIONS).where(c.channel == "webchat", c.org == ORG, c.user_id == bindparam("user_id"),
                                            c.status == "open").order_by(c.id.desc()).limit(1)
        self._select = query.with_for_update() if db.dialect.name == "postgresql" else query
        self._transcript = insert(TRANSCRIPT)
        self._outbox = insert(OUTBOX)
        self._save = update(CONVERSATIONS).where(c.id == bindparam("cid")).values(
            state=bindparam("b_state"), slots=bindparam("b_slots"), version=bindparam("b_version"),
            updated_at=bindparam("b_now"))
        self.users = [f"b{n}" for n in range(conversations)]
        now = datetime.now(UTC)
        with db.begin() as conn:
            conn.execute(insert(CONVERSATIONS), [dict(
                channel="webchat", org=ORG, user_id=user, status="open", state="start", slots={}, version=0,
                created_at=now, updated_at=now) for user in self.users])
        self.done = 0

    def one(self) -> None:
        """One bare transaction: 1 select, 2 inserts, 1 update, commit."""
        now = datetime.now(UTC)
        user = self.users[self.done % len(self.users)]
        self.done += 1
        with self.db.begin() as conn:
            row: Any = conn.execute(self._select, {"user_id": user}).one()
            conn.execute(self._transcript, {"conversation_id": row.id, "at": now, "direction": "in", "kind": "say",
                                            "topic": "", "text": "how long does the first sync take?", "data": {}})
            conn.execute(self._outbox, {"conversation_id": row.id, "audience": "customer", "topic": "sync_time",
                                        "payload": {"audience": "customer", "topic": "sync_time",
                                                    "text": "Usually within a day."},
                                        "created_at": now, "delivered_at": None})
            conn.execute(self._save, {"cid": row.id, "b_state": row.state, "b_slots": {"n": self.done},
                                      "b_version": row.version + 1, "b_now": now})

    def measure(self, count: int, watch: Stopwatch) -> None:
        for _ in range(count):
            watch.time(self.one)
