"""Telling whoever watches a conversation that its customer has something new, once it is committed.

Two paths, both sent only when the turn's transaction commits:
- PostgreSQL: `pg_notify('connectbot_messages', '<conversation id>')` in the turn's own transaction
  (PostgreSQL delivers it at commit, to every process that LISTENs: each web process's stream hub),
  sent in the same statement as the workers' `connectbot_outbox` wake-up when that is due too.
- In-process: the conversation ids a transaction touched are handed to the subscribers after
  `Turns.begin()` commits (on SQLite the worker loop runs inside the web process, so this is how a
  timer's message reaches an open stream there).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from sqlalchemy import Connection, text

from bot.wakeup import CHANNEL as OUTBOX_CHANNEL

log = logging.getLogger("connectbot.notices")

MESSAGES_CHANNEL = "connectbot_messages"
_PENDING = "connectbot.touched_conversations"
_BOTH = text(f"SELECT pg_notify('{OUTBOX_CHANNEL}', ''), pg_notify('{MESSAGES_CHANNEL}', :cid)")
_MESSAGES = text(f"SELECT pg_notify('{MESSAGES_CHANNEL}', :cid)")
_MANY = text(f"SELECT pg_notify('{MESSAGES_CHANNEL}', c) FROM unnest(CAST(:cids AS text[])) AS c")

Subscriber = Callable[[frozenset[int]], None]


class Notices:
    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def written(self, conn: Connection, conversation_id: int, wake_workers: bool) -> None:
        """A turn wrote something its customer sees (and, with wake_workers, outbox rows to deliver)."""
        if self.postgres:
            conn.execute(_BOTH if wake_workers else _MESSAGES, {"cid": str(conversation_id)})
        conn.info.setdefault(_PENDING, set()).add(conversation_id)

    def written_many(self, conn: Connection, conversation_ids: list[int]) -> None:
        """Like `written` for a batch of timer turns: one statement for all of them, no worker wake-up."""
        if not conversation_ids:
            return
        if self.postgres:
            conn.execute(_MANY, {"cids": [str(cid) for cid in conversation_ids]})
        conn.info.setdefault(_PENDING, set()).update(conversation_ids)

    def forget(self, conn: Connection) -> frozenset[int]:
        """The conversations this connection's transaction touched, cleared for the next one."""
        return frozenset(conn.info.pop(_PENDING, ()))

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)
        return unsubscribe

    def committed(self, conversation_ids: Iterable[int]) -> None:
        touched = frozenset(conversation_ids)
        if not touched:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(touched)
            except Exception:  # noqa: BLE001  a watcher's failure must never fail the committed turn
                log.exception("a message watcher failed")
