"""What the channels read back: a conversation's id, channel, the outbox rows it was sent, and both sides of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from bot.clock import as_utc
from bot.engine.turn import Turns
from bot.store.rows import CONVERSATIONS, OUTBOX, TRANSCRIPT
from bot.types import Channel, ConversationKey


def outbox_after(turns: Turns, conversation_id: int, after_id: int) -> list[tuple[int, dict[str, Any]]]:
    """Messages of a conversation written after outbox row `after_id`, oldest first: (id, payload)."""
    with turns.db.connect() as conn:
        rows = conn.execute(select(OUTBOX.c.id, OUTBOX.c.payload).where(
            OUTBOX.c.conversation_id == conversation_id, OUTBOX.c.id > after_id).order_by(OUTBOX.c.id))
        return [(row.id, dict(row.payload)) for row in rows]


def last_outbox_id(turns: Turns, conversation_id: int) -> int:
    with turns.db.connect() as conn:
        found = conn.execute(select(func.max(OUTBOX.c.id)).where(
            OUTBOX.c.conversation_id == conversation_id)).scalar()
        return int(found or 0)


def conversation_channel(turns: Turns, conversation_id: int) -> str:
    with turns.db.connect() as conn:
        found = conn.execute(select(CONVERSATIONS.c.channel).where(
            CONVERSATIONS.c.id == conversation_id)).scalar()
        return str(found or "")


def conversation_id_for(turns: Turns, key: ConversationKey) -> int | None:
    with turns.db.connect() as conn:
        row = turns.hot.lock_open(conn, key.channel.value, key.org, key.user)
        return row.id if row else None


# ---- the customer's side of a conversation, as the in-app chat shows it ----------------------------------

@dataclass(frozen=True)
class SaidRow:
    """One transcript row the customer sees: their own say/click, or a message to them."""

    id: int
    conversation_id: int
    at: datetime
    direction: str  # in | out
    kind: str  # say | click for the customer's; customer for the messages to them
    topic: str
    text: str
    data: dict[str, Any]


_T = TRANSCRIPT.c
_SEEN_BY_CUSTOMER = or_(and_(_T.direction == "in", _T.kind.in_(("say", "click"))),
                        and_(_T.direction == "out", _T.kind == "customer"))
_COLUMNS = (_T.id, _T.conversation_id, _T.at, _T.direction, _T.kind, _T.topic, _T.text, _T.data)


def _said(row: Any) -> SaidRow:
    return SaidRow(row.id, row.conversation_id, as_utc(row.at), row.direction, row.kind, row.topic, row.text,
                   dict(row.data or {}))


def said_after(turns: Turns, conversation_id: int, after_id: int, limit: int = 500) -> list[SaidRow]:
    """Both sides of the conversation as its customer sees them, after transcript row `after_id`, oldest first."""
    with turns.db.connect() as conn:
        rows = conn.execute(select(*_COLUMNS).where(_T.conversation_id == conversation_id, _T.id > after_id,
                                                    _SEEN_BY_CUSTOMER).order_by(_T.id).limit(limit))
        return [_said(row) for row in rows]


def said_in_turn(turns: Turns, conversation_id: int, client_message_id: str) -> list[SaidRow]:
    """The customer's message with this client id and the messages to them that its turn wrote.

    A turn holds the conversation's lock while it writes, so its rows are the ones after its inbound
    row up to the next inbound row of any kind (a timer's, a callback's)."""
    with turns.db.connect() as conn:
        first = conn.execute(select(_T.id).where(
            _T.conversation_id == conversation_id, _T.direction == "in",
            _T.data["client_message_id"].as_string() == client_message_id).order_by(_T.id).limit(1)).scalar()
        if first is None:
            return []
        rows = conn.execute(select(*_COLUMNS).where(_T.conversation_id == conversation_id, _T.id >= first)
                            .order_by(_T.id).limit(100)).all()
    found: list[SaidRow] = []
    for row in rows:
        if found and row.direction == "in":
            break
        if row.id == first or (row.direction == "out" and row.kind == "customer"):
            found.append(_said(row))
    return found


def newest_said(turns: Turns, conversation_ids: list[int]) -> dict[int, int]:
    """The newest row each conversation's customer sees: how open streams notice a lost notification."""
    newest: dict[int, int] = {}
    with turns.db.connect() as conn:
        for start in range(0, len(conversation_ids), 500):
            chunk = conversation_ids[start:start + 500]
            rows = conn.execute(select(_T.conversation_id, func.max(_T.id)).where(
                _T.conversation_id.in_(chunk), _SEEN_BY_CUSTOMER).group_by(_T.conversation_id))
            newest.update({int(cid): int(top) for cid, top in rows})
    return newest


def conversation_key(turns: Turns, conversation_id: int) -> ConversationKey | None:
    with turns.db.connect() as conn:
        row = conn.execute(select(CONVERSATIONS.c.channel, CONVERSATIONS.c.org, CONVERSATIONS.c.user_id).where(
            CONVERSATIONS.c.id == conversation_id)).first()
    return ConversationKey(Channel(row.channel), row.org, row.user_id) if row else None


def open_conversations(turns: Turns, channel: Channel, users: list[str]) -> dict[tuple[str, str], int]:
    """The open conversation of each (org, user) among these users on a channel, in one query per 500."""
    found: dict[tuple[str, str], int] = {}
    c = CONVERSATIONS.c
    with turns.db.connect() as conn:
        for start in range(0, len(users), 500):
            rows = conn.execute(select(c.id, c.org, c.user_id).where(
                c.channel == channel.value, c.status == "open", c.user_id.in_(users[start:start + 500]))
                .order_by(c.id))
            found.update({(row.org, row.user_id): int(row.id) for row in rows})
    return found
