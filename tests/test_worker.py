"""The worker process fires due timers that a web process stored, against the shared database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from bot.app import Services
from bot.clock import ManualClock
from bot.store.models import OutboxMessage, Timer, WorkerHeartbeat
from bot.store.rows import CONVERSATIONS
from bot.types import Channel, ConversationKey
from bot.worker import run_worker
from tests.conftest import ServicesFactory
from tests.fakes.talk import click, say

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_worker_once_fires_a_reminder_stored_by_another_process(make_services: ServicesFactory) -> None:
    web = make_services(clock=ManualClock())  # its clock is in the past: the reminder is due for the worker
    say(web, "we never ran a campaign on amazon")
    click(web, "Yes, remind me")
    web.db.dispose()
    env = {**os.environ, "DATABASE_URL": make_services.url}
    result = subprocess.run([sys.executable, "-m", "bot", "worker", "--once"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    with Session(web.db) as session:
        assert session.exec(select(Timer.status)).all() == ["fired"]
        reminders = [m for m in session.exec(select(OutboxMessage)).all() if "24 hours have passed" in m.payload["text"]
                     or "It has been 24 hours" in m.payload["text"]]
    assert len(reminders) == 1


def test_next_due_time_is_known(make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock=clock)
    assert services.engine.next_timer_due() is None
    say(services, "we never ran a campaign on amazon")
    click(services, "Yes, remind me")
    assert services.engine.next_timer_due() == clock.now() + timedelta(hours=24)


def _remind(services: Services, user: str) -> None:
    key = ConversationKey(Channel.WEBCHAT, "acme", user)
    say(services, "we never ran a campaign on amazon", key=key)
    click(services, "Yes, remind me", key=key)


def test_a_timer_that_keeps_failing_backs_off_then_dies_with_one_alert(make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock=clock, timer_max_attempts=2, outbox_backoff_seconds=60)
    _remind(services, "broken")
    _remind(services, "fine")
    with services.db.begin() as conn:  # a damaged conversation row: its journey no longer validates
        conn.execute(update(CONVERSATIONS).where(CONVERSATIONS.c.user_id == "broken").values(
            slots={"marketplaces": 5}))
    clock.advance(timedelta(hours=25))
    services.engine.fire_due_timers()
    with Session(services.db) as session:
        timers = {t.conversation_id: t for t in session.exec(select(Timer)).all()}
    assert timers[2].status == "fired", "the broken conversation's timer does not hold the next one back"
    assert timers[1].status == "pending" and timers[1].attempts == 1 and "ValidationError" in timers[1].last_error
    services.engine.fire_due_timers()
    assert _timer_status(services, 1) == "pending", "not again before the backoff"
    clock.advance(timedelta(minutes=1))
    services.engine.fire_due_timers()
    clock.advance(timedelta(hours=1))
    services.engine.fire_due_timers()
    assert _timer_status(services, 1) == "dead"
    with Session(services.db) as session:
        alerts = [m for m in session.exec(select(OutboxMessage)).all() if m.payload.get("alert")]
    assert len(alerts) == 1 and alerts[0].audience == "strategist" and "campaign_reminder" in alerts[0].payload["text"]


def _timer_status(services: Services, conversation_id: int) -> str:
    with Session(services.db) as session:
        return session.exec(select(Timer.status).where(Timer.conversation_id == conversation_id)).one()


def test_one_round_fires_timers_delivers_messages_and_heartbeats(make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock=clock)
    _remind(services, "u9")
    clock.advance(timedelta(hours=25))
    run_worker(services, once=True)
    with Session(services.db) as session:
        assert session.exec(select(Timer.status)).all() == ["fired"]
        statuses = {m.status for m in session.exec(select(OutboxMessage)).all()}
        beats = session.exec(select(WorkerHeartbeat)).all()
    assert statuses == {"delivered"}, "the reminder the timer wrote went out in the same round"
    assert len(beats) == 1 and beats[0].stopped_at is not None, "the worker said it stopped"
