"""Messages of one conversation handled at the same time never corrupt its state."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session, func, select

from bot.app import Services
from bot.store.models import Conversation, ProcessedKey, TranscriptEntry
from bot.types import Channel, ConversationKey, Inbound, InboundKind

THREADS = 8
PER_THREAD = 8


def _send(services: Services, key: ConversationKey, worker: int) -> int:
    answered = 0
    for i in range(PER_THREAD):
        result = services.engine.handle(key, Inbound(InboundKind.SAY, f"w{worker}:{i}", text=f"is it synced yet {i}"))
        answered += bool(result.messages)
    return answered


def test_parallel_messages_to_one_conversation_are_all_kept(services: Services) -> None:
    key = ConversationKey(Channel.SLACK, "acme", "busy-user")
    with ThreadPoolExecutor(THREADS) as pool:
        answered = sum(pool.map(lambda w: _send(services, key, w), range(THREADS)))
    total = THREADS * PER_THREAD
    with Session(services.db) as session:
        conversations = session.exec(select(Conversation)).all()
        inbound = session.exec(select(func.count()).select_from(TranscriptEntry)
                               .where(TranscriptEntry.direction == "in")).one()
        keys = session.exec(select(func.count()).select_from(ProcessedKey)).one()
    assert len(conversations) == 1, "the first messages raced but opened one conversation"
    assert answered == total
    assert conversations[0].version == total, "every turn saw the state the previous one wrote"
    assert inbound == keys == total


def test_the_same_event_delivered_twice_at_once_is_handled_once(services: Services) -> None:
    key = ConversationKey(Channel.SLACK, "acme", "retried")
    services.engine.handle(key, Inbound(InboundKind.SAY, "warm-up", text="hi"))
    event = Inbound(InboundKind.SAY, "slack:Ev-retry", text="we're a vendor, want to connect")

    def deliver(_: int) -> bool:
        try:
            return not services.engine.handle(key, event).duplicate
        except Exception:  # noqa: BLE001  the loser of the race may be told it is in progress
            return False

    with ThreadPoolExecutor(4) as pool:
        handled = list(pool.map(deliver, range(4)))
    assert handled.count(True) == 1
