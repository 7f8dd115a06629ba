"""The rows a turn writes, gathered while it decides and sent as one multi-row INSERT per table.

The timers it cancels are gathered too and cancelled in one UPDATE at the same flush, before the
inserts: a cancel only ever applies to timers written by earlier turns (or an earlier flush of
this one), never to those this turn arms after it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot.engine.payload import outbound_json
from bot.engine.records import RECHECK_DUE
from bot.store.hotpath import TurnStatements
from bot.store.rows import ATTEMPTS, OUTBOX, TIMERS, TRANSCRIPT
from bot.types import Outbound
from flows.signin import RECHECK_TIMER


class Writes:
    """The rows a turn writes, sent as one multi-row INSERT per table when the turn is decided."""

    def __init__(self, sql: TurnStatements, conversation_id: int) -> None:
        # The conversation whose turn is being decided; a batch of timer turns (bot/engine/timers.py)
        # gathers the rows of several conversations' turns in one Writes and moves this along.
        self.sql, self.conversation_id = sql, conversation_id
        self.cancel_states: list[tuple[int, str]] = []  # pending timers guarding these states are cancelled
        self.cancel_kinds: list[tuple[int, str]] = []  # and pending timers of these kinds
        self.transcript: list[dict[str, Any]] = []
        self.outbox: list[dict[str, Any]] = []
        self.timers: list[dict[str, Any]] = []
        self.attempts: list[dict[str, Any]] = []

    def timer(self, conversation_id: int, kind: str, due: datetime, guard: str, now: datetime) -> None:
        # A re-check calls Amazon, so the worker's re-checker runs it (bot/amazon/recheck.py), never plain firing.
        status = RECHECK_DUE if kind == RECHECK_TIMER else "pending"
        self.timers.append(dict(conversation_id=conversation_id, kind=kind, guard_state=guard, due_at=due,
                                status=status, created_at=now, fired_at=None))

    def drop_timers(self, kind: str) -> None:
        """Timers of this kind armed earlier in the same turn and not written yet."""
        self.timers[:] = [t for t in self.timers if t["kind"] != kind or t["conversation_id"] != self.conversation_id]

    def cancel_kind(self, kind: str) -> None:
        """Every pending timer of this kind: those written already (at flush) and those armed so far."""
        self.drop_timers(kind)
        if (self.conversation_id, kind) not in self.cancel_kinds:
            self.cancel_kinds.append((self.conversation_id, kind))

    def cancel_guarding(self, states: list[str]) -> None:
        self.cancel_states.extend((self.conversation_id, s) for s in states
                                  if (self.conversation_id, s) not in self.cancel_states)

    def message(self, conversation_id: int, message: Outbound, now: datetime) -> None:
        payload = outbound_json(message)
        self.transcript.append(dict(conversation_id=conversation_id, at=now, direction="out",
                                    kind=message.audience.value, topic=message.topic.value, text=message.text,
                                    data=_transcript_data(payload)))
        self.outbox.append(dict(conversation_id=conversation_id, audience=message.audience.value,
                                topic=message.topic.value, payload=payload, created_at=now, delivered_at=None))

    def flush(self, conn: Connection) -> None:
        if self.cancel_states or self.cancel_kinds:
            self.sql.cancel_timers(conn, self.cancel_states, self.cancel_kinds)
            self.cancel_states, self.cancel_kinds = [], []
        for target, rows in ((TRANSCRIPT, self.transcript), (OUTBOX, self.outbox), (TIMERS, self.timers),
                             (ATTEMPTS, self.attempts)):
            if rows:
                self.sql.insert(conn, target.name, rows)
                rows.clear()


def _transcript_data(payload: dict[str, Any]) -> dict[str, Any]:
    """What the transcript keeps beside the text: enough to show the message again (the in-app history),
    never a link's Amazon authorization URL (it carries the PKCE challenge and is rebuilt on opening)."""
    data = {k: v for k, v in payload.items() if k in ("choices", "case", "author")}
    if payload.get("links"):
        data["links"] = [{"label": li["label"], "url": li["url"], "region": li["region"]} for li in payload["links"]]
    return data
