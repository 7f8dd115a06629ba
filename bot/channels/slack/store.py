"""What the Slack adapter keeps and looks up: posted rows and their ts, case cards, and which conversation
a Slack message belongs to. Plain Core statements; every function is one short transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine as DbEngine
from sqlalchemy import delete, insert, select, update

from bot.clock import as_utc
from bot.store.models import SlackCard, SlackPost
from bot.store.rows import CASES, CONVERSATIONS, table
from bot.types import Channel, ConversationKey

POSTS = table(SlackPost)
CARDS = table(SlackCard)


@dataclass(frozen=True)
class Posted:
    outbox_id: int
    conversation_id: int
    channel: str
    thread_ts: str
    ts: str
    choices: list[str]


@dataclass(frozen=True)
class Card:
    case_id: int
    conversation_id: int
    channel: str
    ts: str
    shown: str


@dataclass(frozen=True)
class CaseView:
    """A case as its card shows it."""

    id: int
    conversation_id: int
    status: str
    reason: str
    packet: dict[str, Any]
    opened_at: datetime
    claimed_by: str | None
    routed_to: str
    escalated: bool
    rating: str | None


def _key(row: Any) -> ConversationKey:
    return ConversationKey(Channel(row.channel), row.org, row.user_id)


def _case(row: Any) -> CaseView:
    return CaseView(row.id, row.conversation_id, row.status, row.reason, dict(row.packet), as_utc(row.opened_at),
                    row.claimed_by, row.routed_to or "", row.escalated_at is not None, row.rating)


class SlackStore:
    def __init__(self, db: DbEngine) -> None:
        self.db = db

    # ---- posts --------------------------------------------------------------------------------

    def post_of(self, outbox_id: int) -> Posted | None:
        with self.db.connect() as conn:
            row = conn.execute(select(POSTS).where(POSTS.c.outbox_id == outbox_id)).first()
        return Posted(row.outbox_id, row.conversation_id, row.channel, row.thread_ts, row.ts,
                      list(row.choices)) if row else None

    def post_at(self, channel: str, ts: str) -> Posted | None:
        with self.db.connect() as conn:
            row = conn.execute(select(POSTS).where(POSTS.c.channel == channel, POSTS.c.ts == ts)).first()
        return Posted(row.outbox_id, row.conversation_id, row.channel, row.thread_ts, row.ts,
                      list(row.choices)) if row else None

    def intend(self, outbox_id: int, conversation_id: int, channel: str, thread_ts: str, choices: list[str],
               now: datetime) -> None:
        """Written before chat.postMessage: a row left with an empty ts means a post may have happened."""
        with self.db.begin() as conn:
            conn.execute(delete(POSTS).where(POSTS.c.outbox_id == outbox_id))
            conn.execute(insert(POSTS).values(outbox_id=outbox_id, conversation_id=conversation_id, channel=channel,
                                              thread_ts=thread_ts, ts="", choices=choices, posted_at=now))

    def posted(self, outbox_id: int, channel: str, ts: str) -> None:
        with self.db.begin() as conn:
            conn.execute(update(POSTS).where(POSTS.c.outbox_id == outbox_id).values(channel=channel, ts=ts))

    # ---- cards --------------------------------------------------------------------------------

    def card_of_case(self, case_id: int) -> Card | None:
        with self.db.connect() as conn:
            row = conn.execute(select(CARDS).where(CARDS.c.case_id == case_id)).first()
        return Card(row.case_id, row.conversation_id, row.channel, row.ts, row.shown) if row else None

    def card_at(self, channel: str, ts: str) -> Card | None:
        with self.db.connect() as conn:
            row = conn.execute(select(CARDS).where(CARDS.c.channel == channel, CARDS.c.ts == ts)).first()
        return Card(row.case_id, row.conversation_id, row.channel, row.ts, row.shown) if row else None

    def latest_card(self, conversation_id: int) -> Card | None:
        with self.db.connect() as conn:
            row = conn.execute(select(CARDS).where(CARDS.c.conversation_id == conversation_id)
                               .order_by(CARDS.c.case_id.desc()).limit(1)).first()
        return Card(row.case_id, row.conversation_id, row.channel, row.ts, row.shown) if row else None

    def cards_of(self, conversation_id: int) -> list[tuple[Card, CaseView]]:
        with self.db.connect() as conn:
            rows = conn.execute(select(CARDS.c.channel.label("card_channel"), CARDS.c.ts, CARDS.c.shown, CASES)
                                .join(CASES, CASES.c.id == CARDS.c.case_id)
                                .where(CARDS.c.conversation_id == conversation_id)).all()
        return [(Card(r.id, r.conversation_id, r.card_channel, r.ts, r.shown), _case(r)) for r in rows]

    def add_card(self, case_id: int, conversation_id: int, channel: str, ts: str, shown: str, now: datetime) -> None:
        with self.db.begin() as conn:
            conn.execute(insert(CARDS).values(case_id=case_id, conversation_id=conversation_id, channel=channel,
                                              ts=ts, shown=shown, updated_at=now))

    def card_shown(self, case_id: int, shown: str, now: datetime) -> None:
        with self.db.begin() as conn:
            conn.execute(update(CARDS).where(CARDS.c.case_id == case_id).values(shown=shown, updated_at=now))

    # ---- cases and conversations --------------------------------------------------------------

    def case(self, case_id: int) -> CaseView | None:
        with self.db.connect() as conn:
            row = conn.execute(select(CASES).where(CASES.c.id == case_id)).first()
        return _case(row) if row else None

    def open_cases(self, limit: int = 40) -> list[CaseView]:
        with self.db.connect() as conn:
            rows = conn.execute(select(CASES).where(CASES.c.status.in_(("open", "claimed")))
                                .order_by(CASES.c.opened_at).limit(limit)).all()
        return [_case(r) for r in rows]

    def key_of(self, conversation_id: int) -> ConversationKey | None:
        with self.db.connect() as conn:
            row = conn.execute(select(CONVERSATIONS).where(CONVERSATIONS.c.id == conversation_id)).first()
        return _key(row) if row else None

    def open_conversation(self, user_key: str) -> tuple[int, ConversationKey] | None:
        """The open Slack conversation with this key user (a DM user or `<channel>/<thread>`), of any org."""
        c = CONVERSATIONS.c
        with self.db.connect() as conn:
            row = conn.execute(select(CONVERSATIONS).where(
                c.channel == Channel.SLACK.value, c.user_id == user_key, c.status == "open")
                .order_by(c.id.desc()).limit(1)).first()
        return (row.id, _key(row)) if row else None

    def latest_in_channel(self, channel: str) -> tuple[int, ConversationKey] | None:
        """The most recently active conversation in a channel's threads: what a slash command there is about."""
        c = CONVERSATIONS.c
        with self.db.connect() as conn:
            row = conn.execute(select(CONVERSATIONS).where(
                c.channel == Channel.SLACK.value, c.user_id.like(f"{channel}/%"), c.status == "open")
                .order_by(c.updated_at.desc(), c.id.desc()).limit(1)).first()
        return (row.id, _key(row)) if row else None

    def latest_case(self, conversation_id: int) -> CaseView | None:
        with self.db.connect() as conn:
            row = conn.execute(select(CASES).where(CASES.c.conversation_id == conversation_id)
                               .order_by(CASES.c.id.desc()).limit(1)).first()
        return _case(row) if row else None
