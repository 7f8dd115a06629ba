"""Due timers fired in batches (the worker's TIMER_BATCH) behave exactly like timers fired one at a time.

A batch locks its conversations, marks its timers and records their keys with one statement each
and writes every turn's rows together (bot/engine/timers.py); what the customer sees, what is
stored and which timers end up fired, cancelled or pending must not depend on that.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.app import Services
from bot.clock import ManualClock
from bot.engine import TurnResult
from bot.store.rows import CONVERSATIONS, KEYS, TIMERS, TRANSCRIPT
from bot.types import Channel, ConversationKey
from tests.conftest import ServicesFactory
from tests.fakes.talk import click, say

USERS = ("r1", "r2", "r3", "two", "stale", "dup")


def _key(prefix: str, user: str) -> ConversationKey:
    return ConversationKey(Channel.WEBCHAT, "acme", f"{prefix}-{user}")


def _conversation_id(services: Services, prefix: str, user: str) -> int:
    found = services.engine.conversation_id_for(_key(prefix, user))
    assert found is not None
    return found


def _set_up(services: Services, clock: ManualClock, prefix: str) -> None:
    """Six conversations with a 24 h reminder each: three plain, one with a second timer due, one whose
    timer guards a state it has left (stale), one whose timer's key was recorded already (a replay)."""
    for user in USERS:
        say(services, "we never ran a campaign on amazon", key=_key(prefix, user))
        click(services, "Yes, remind me", key=_key(prefix, user))
    now = clock.now()
    with services.db.begin() as conn:
        two = _conversation_id(services, prefix, "two")
        conn.execute(insert(TIMERS).values(conversation_id=two, kind="campaign_reminder", guard_state="",
                                           due_at=now + timedelta(hours=24, minutes=1), status="pending",
                                           created_at=now, fired_at=None))
        stale = _conversation_id(services, prefix, "stale")
        conn.execute(update(TIMERS).where(TIMERS.c.conversation_id == stale).values(guard_state="welcome.start"))
        dup = _conversation_id(services, prefix, "dup")
        timer_id = conn.execute(select(TIMERS.c.id).where(TIMERS.c.conversation_id == dup)).scalar_one()
        conn.execute(insert(KEYS).values(key=f"timer:{timer_id}", conversation_id=dup, at=now))


def _what_happened(services: Services, prefix: str, results: list[TurnResult]) -> dict[str, Any]:
    by_id = {_conversation_id(services, prefix, user): user for user in USERS}
    seen: dict[str, Any] = {}
    with services.db.connect() as conn:
        for cid, user in by_id.items():
            row = conn.execute(select(CONVERSATIONS.c.state, CONVERSATIONS.c.version, CONVERSATIONS.c.slots).where(
                CONVERSATIONS.c.id == cid)).one()
            said = conn.execute(select(TRANSCRIPT.c.direction, TRANSCRIPT.c.kind, TRANSCRIPT.c.text, TRANSCRIPT.c.data)
                                .where(TRANSCRIPT.c.conversation_id == cid).order_by(TRANSCRIPT.c.id)).all()
            timers = conn.execute(select(TIMERS.c.kind, TIMERS.c.guard_state, TIMERS.c.status).where(
                TIMERS.c.conversation_id == cid).order_by(TIMERS.c.id)).all()
            fired = sorted((r.duplicate, tuple(m.text for m in r.messages)) for r in results
                           if r.conversation_id == cid)
            slots = {k: v for k, v in row.slots.items() if not k.endswith("_at")}
            seen[user] = (row.state, row.version, slots, [tuple(s) for s in said], [tuple(t) for t in timers], fired)
    return seen


def test_a_batch_fires_every_timer_as_firing_them_one_at_a_time_does(make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock=clock)
    _set_up(services, clock, "single")
    clock.advance(timedelta(hours=25))
    single = services.engine.fire_due_timers(batch=1)
    _set_up(services, clock, "batch")
    clock.advance(timedelta(hours=25))
    batched = services.engine.fire_due_timers(batch=20)

    one_at_a_time, in_batches = _what_happened(services, "single", single), _what_happened(services, "batch", batched)
    assert in_batches == one_at_a_time
    assert len(batched) == len(single) == len(USERS) + 1, "every due timer once, the second of 'two' too"
    reminded = [user for user in USERS if any("24 hours" in " ".join(texts) for _, texts in in_batches[user][5])]
    assert reminded == ["r1", "r2", "r3", "two"], "no reminder for the stale timer nor the replayed one"
    assert [t[2] for t in in_batches["stale"][4]] == ["cancelled"]
    assert [t[2] for t in in_batches["dup"][4]] == ["fired"] and in_batches["dup"][5] == [(True, ())]
    assert services.engine.fire_due_timers(batch=20) == [], "nothing fires twice"


def test_a_broken_conversation_in_a_batch_holds_back_only_its_own_timer(make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock=clock, timer_max_attempts=3)
    for user in ("a", "broken", "c"):
        say(services, "we never ran a campaign on amazon", key=_key("b", user))
        click(services, "Yes, remind me", key=_key("b", user))
    with services.db.begin() as conn:  # its journey no longer validates: the whole batch rolls back
        conn.execute(update(CONVERSATIONS).where(CONVERSATIONS.c.user_id == "b-broken").values(
            slots={"marketplaces": 5}))
    clock.advance(timedelta(hours=25))
    fired = services.engine.fire_due_timers(batch=20)
    assert len(fired) == 3
    with services.db.connect() as conn:
        rows = conn.execute(select(CONVERSATIONS.c.user_id, TIMERS.c.status, TIMERS.c.attempts).join(
            TIMERS, TIMERS.c.conversation_id == CONVERSATIONS.c.id).order_by(CONVERSATIONS.c.user_id)).all()
    assert [tuple(r) for r in rows] == [("b-a", "fired", 0), ("b-broken", "pending", 1), ("b-c", "fired", 0)]


def test_a_prepared_statement_fails_as_sqlalchemy_would(services: Services) -> None:
    """Driver errors of the turn's prepared statements arrive as SQLAlchemy's (the worker tells a database
    outage from a broken turn by them), and the transaction rolls back whole."""
    with pytest.raises(IntegrityError), services.db.begin() as conn:
        services.engine.hot.record_key(conn, "k-orphan", 987654, services.clock.now())  # no such conversation
    with services.db.connect() as conn:
        assert conn.execute(select(KEYS.c.key)).all() == []
