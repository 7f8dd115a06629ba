"""The worker process fires due timers that a web process stored, against the shared database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.store.models import OutboxMessage, Timer
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
