"""The engine on SQLite and PostgreSQL: idempotency, persistence, rollback, timers, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, func, select

from bot.app import Services
from bot.clock import ManualClock
from bot.engine import BadInput
from bot.store.models import Conversation, OutboxMessage, Timer, TranscriptEntry
from bot.types import Inbound, InboundKind
from tests.conftest import ServicesFactory
from tests.fakes.talk import CUSTOMER, click, say, texts, topics


def _count(services: Services, table: type[TranscriptEntry] | type[OutboxMessage] | type[Timer]) -> int:
    with Session(services.db) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def _state(services: Services) -> str:
    with Session(services.db) as session:
        return session.exec(select(Conversation.state)).one()


def test_the_same_event_twice_is_answered_once(services: Services) -> None:
    first = say(services, "we're a vendor and want to connect", event="slack:Ev1")
    again = say(services, "we're a vendor and want to connect", event="slack:Ev1")
    assert first.messages and not first.duplicate
    assert again.duplicate and again.messages == []
    assert _count(services, TranscriptEntry) == 1 + len(first.messages)


def test_every_message_is_written_to_the_outbox_in_the_same_turn(services: Services) -> None:
    result = say(services, "hi, we're a seller and want to connect our amazon account")
    assert _count(services, OutboxMessage) == len(result.messages)


def test_a_conversation_survives_a_new_process(make_services: ServicesFactory) -> None:
    first = make_services()
    say(first, "hi we are a vendor, want to connect")
    click(first, "Yes")
    state = _state(first)
    first.db.dispose()
    second = make_services()
    result = say(second, "we sell on amazon.de")
    assert state == "region.ask"
    assert any(link.region == "EU" for m in result.messages for link in m.links)


def test_a_click_not_offered_changes_nothing(services: Services) -> None:
    say(services, "we're a vendor and want to connect")
    before = (_state(services), _count(services, TranscriptEntry))
    with pytest.raises(BadInput, match="not a choice"):
        click(services, "Seller Central pls")
    assert (_state(services), _count(services, TranscriptEntry)) == before


def test_a_failing_turn_keeps_the_old_state_and_can_be_retried(services: Services) -> None:
    say(services, "we're a vendor and want to connect")
    before = _state(services)
    broken = services.engine.runner.run

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in a flow")

    services.engine.runner.run = explode  # type: ignore[assignment,method-assign]
    with pytest.raises(RuntimeError):
        say(services, "yes", event="retry-me")
    services.engine.runner.run = broken  # type: ignore[method-assign]
    assert _state(services) == before
    retried = say(services, "yes", event="retry-me")
    assert not retried.duplicate and retried.messages


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01\x02\x1b[31m", "é" * 1_000_000, "?!?!", "\ud800"])
def test_odd_messages_get_a_clear_reply(services: Services, text: str) -> None:
    result = say(services, text)
    assert result.messages, "the customer always gets an answer"
    with Session(services.db) as session:
        stored = session.exec(select(TranscriptEntry.text).where(TranscriptEntry.direction == "in")).one()
    assert len(stored) <= 4000 and "\x00" not in stored


def test_reminder_fires_once_after_24_hours(make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock=clock)
    say(services, "we never ran a campaign on amazon")
    click(services, "Yes, remind me")
    clock.advance(timedelta(hours=23))
    assert services.engine.fire_due_timers() == []
    clock.advance(timedelta(hours=2))
    fired = services.engine.fire_due_timers()
    assert len(fired) == 1 and "24 hours" in texts(fired[0])
    clock.advance(timedelta(days=3))
    assert services.engine.fire_due_timers() == []


def test_leaving_the_guarded_state_cancels_the_reminder(make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock=clock)
    say(services, "we never ran a campaign on amazon")
    click(services, "Yes, remind me")
    click(services, "Cancel the reminder")
    clock.advance(timedelta(hours=30))
    assert services.engine.fire_due_timers() == []
    with Session(services.db) as session:
        statuses = session.exec(select(Timer.status)).all()
    assert statuses == ["cancelled"]


def test_sync_overdue_opens_one_case_and_pings_the_strategist(make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock=clock)
    say(services, "vendor here, we want to connect amazon.de")
    click(services, "Yes")
    attempt = services.engine.pending_link(services.engine.conversation_id_for(CUSTOMER) or 0)
    assert attempt is not None
    services.engine.complete_link(attempt.state_token, {
        "region": "EU", "result": "ok", "found_types": ["vendor"], "matched": ["DE"], "missing": []})
    clock.advance(timedelta(hours=49))
    fired = services.engine.fire_due_timers()
    assert len(fired) == 1
    audiences = [m.audience.value for m in fired[0].messages]
    assert audiences.count("strategist") == 1 and "customer" in audiences
    ping = next(m for m in fired[0].messages if m.audience.value == "strategist")
    assert ping.case is not None and ping.case.reason == "sync_overdue"
    assert "DE" in ping.text and "vendor" in ping.text


def test_a_used_link_cannot_be_used_again(services: Services) -> None:
    say(services, "vendor here, we want to connect amazon.de")
    click(services, "Yes")
    attempt = services.engine.pending_link(services.engine.conversation_id_for(CUSTOMER) or 0)
    assert attempt is not None
    verdict = {"region": "EU", "result": "cancelled", "code": "access_denied"}
    services.engine.complete_link(attempt.state_token, verdict)
    with pytest.raises(BadInput, match="already used"):
        services.engine.complete_link(attempt.state_token, verdict)


def test_strategist_action_without_a_case_is_refused(services: Services) -> None:
    say(services, "hello")
    with pytest.raises(BadInput, match="no open case"):
        services.engine.handle(CUSTOMER, _strategist("claim"))


def test_sync_progress_is_told_at_milestones_only(services: Services) -> None:
    say(services, "hi")
    told = []
    for progress in (5, 10, 30, 55, 60, 40):
        result = services.engine.handle(CUSTOMER, _sync("in_progress", progress))
        told.append(bool(result.messages))
    assert told == [True, False, False, True, False, False]
    status = say(services, "is the sync done yet?")
    assert "sync.status" in topics(status) and "60%" in texts(status)


def _strategist(action: str) -> Inbound:


    return Inbound(InboundKind.STRATEGIST, f"s:{action}", data={"action": action})


def _sync(status: str, progress: int) -> Inbound:


    return Inbound(InboundKind.SYNC, f"sync:{status}:{progress}", data={"status": status, "progress": progress})


def test_transcript_rows_are_in_order(services: Services) -> None:
    say(services, "we're a vendor and want to connect")
    click(services, "Yes")
    with Session(services.db) as session:
        rows = session.exec(select(TranscriptEntry.direction).order_by(col(TranscriptEntry.id))).all()
    assert rows[0] == "in" and rows.count("in") == 2
