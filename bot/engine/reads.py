"""What the channels read back: a conversation's id, channel, and the outbox rows it was sent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.engine.turn import Turns
from bot.store.rows import CONVERSATIONS, OUTBOX
from bot.types import ConversationKey


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
