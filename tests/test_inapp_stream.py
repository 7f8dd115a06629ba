"""The live stream: what the customer's open widget receives, from this process, another process, or the poll."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot.app import Services
from bot.classify import Classifier
from bot.runner import Runner
from bot.types import Inbound, InboundKind
from tests.conftest import TEST_TOKEN_KEY, ServicesFactory
from tests.fakes.app_server import serving
from tests.fakes.host_app import HOST_SECRET, bearer, sign
from tests.fakes.sse import EventStream
from tests.fakes.talk import CUSTOMER
from tests.migrated import MigratedTemplates

ROOT = Path(__file__).resolve().parent.parent


def _stream(origin: str, services: Services, **params: str) -> EventStream:
    return EventStream(f"{origin}/api/chat/stream", {"token": sign(services.clock), **params})


def _post(origin: str, services: Services, mid: str, **body: str) -> list[dict[str, object]]:
    sent = httpx.post(f"{origin}/api/chat/messages", json={"client_message_id": mid, **body},
                      headers=bearer(sign(services.clock)))
    assert sent.status_code == 200, sent.text
    messages: list[dict[str, object]] = sent.json()["messages"]
    return messages


def test_an_open_stream_gets_both_sides_live_and_a_reconnect_misses_and_repeats_nothing(
        make_services: ServicesFactory) -> None:
    services = make_services(inapp_stream_poll_seconds=60.0, inapp_keepalive_seconds=0.3)
    with serving(services) as origin:
        live = _stream(origin, services)  # before the conversation exists
        assert live.status == 200
        answered = _post(origin, services, "m1", text="hi, we're a vendor and want to connect")
        received = live.take(len(answered), timeout=2)
        assert received == answered, "the stream carries exactly what the POST answered, in order"
        assert received[0]["from"] == "customer" and received[0]["client_message_id"] == "m1"
        assert live.retry == 2000
        time.sleep(0.5)
        assert live.comments, "an idle stream sends keep-alive comments"
        last = received[-1]["id"]
        live.close()
        more = _post(origin, services, "m2", click="Yes")
        again = EventStream(f"{origin}/api/chat/stream", {"token": sign(services.clock)},
                            headers={"Last-Event-ID": str(last)})
        resumed = again.take(len(more), timeout=2)
        assert resumed == more and resumed[0]["id"] > last, "after the reconnect: only what came after"
        assert again.quiet(0.5), "and nothing twice"
        from_query = _stream(origin, services, after=str(received[0]["id"]))
        assert [m["id"] for m in from_query.take(len(received) - 1 + len(more))] == \
               [m["id"] for m in received[1:] + more]
        again.close()
        from_query.close()


def test_a_message_committed_elsewhere_in_the_process_arrives_at_once(make_services: ServicesFactory) -> None:
    """A strategist's relay (or a timer, a callback) is a turn of its own: the notification brings it, not the poll."""
    services = make_services(inapp_stream_poll_seconds=60.0, inapp_keepalive_seconds=0.3)
    with serving(services) as origin:
        _post(origin, services, "m1", text="i want to talk to a person")
        live = _stream(origin, services)
        history = live.take(2, timeout=2)
        assert history[0]["from"] == "customer"
        while not live.quiet(0.3):
            pass
        services.engine.handle(CUSTOMER, Inbound(InboundKind.STRATEGIST, "s1", data={"action": "claim",
                                                                                      "by": "Dana"}))
        committed = time.monotonic()
        services.engine.handle(CUSTOMER, Inbound(InboundKind.STRATEGIST, "s2", data={
            "action": "reply", "by": "Dana", "text": "Hi, Dana here: I am looking at your account now."}))
        arrivals = []
        while True:
            try:
                arrivals.append(live.next_timed(timeout=2))
            except Exception:  # noqa: BLE001  queue.Empty: nothing more
                break
        relayed = [(t, m) for t, m in arrivals if m["from"] == "person"]
        assert relayed, [m for _, m in arrivals]
        at, message = relayed[-1]
        assert message["author"] == "Dana" and "looking at your account" in str(message["text"])
        assert at - committed < 1.0
        live.close()


def test_a_lost_notification_only_delays_the_message(make_services: ServicesFactory, database_url: str) -> None:
    services = make_services(inapp_stream_poll_seconds=0.5, inapp_keepalive_seconds=0.3)
    elsewhere = make_services()  # another process's engine: its commits tell nobody in this one
    if services.engine.postgres:
        services.engine.notices.postgres = False  # and this process's own NOTIFY is lost too
        elsewhere.engine.notices.postgres = False
    with serving(services) as origin:
        live = _stream(origin, services)
        assert live.quiet(0.3)
        elsewhere.engine.handle(CUSTOMER, Inbound(InboundKind.SAY, "x1", text="how long does the first sync take"))
        first = live.next(timeout=3)
        assert first["from"] == "customer", "the waiting stream found the new conversation by polling"
        live.take(1, timeout=3)
        live.close()


@pytest.mark.slow
def test_a_worker_process_timer_reaches_a_stream_through_listen_notify(pg_url: str, classifier: Classifier,
                                                                       runner: Runner,
                                                                       migrated: MigratedTemplates) -> None:
    factory = ServicesFactory(pg_url, classifier, runner, migrated)
    services = factory(inapp_stream_poll_seconds=60.0, inapp_keepalive_seconds=0.3)
    with serving(services) as origin:
        said = _post(origin, services, "m1", text="we never ran a campaign on amazon")
        said += _post(origin, services, "m2", click="Yes, remind me")
        live = _stream(origin, services)
        assert live.take(len(said), timeout=10) == said, "the history first, however slow the machine"
        # The worker runs on the real clock, so the reminder (due a day after the test clock's start) is due.
        env = {**os.environ, "DATABASE_URL": pg_url, "TOKEN_ENCRYPTION_KEYS": TEST_TOKEN_KEY,
               "INAPP_IDENTITY_SECRET": HOST_SECRET, "LOG_FORMAT": "text"}
        done = subprocess.run([sys.executable, "-m", "bot", "worker", "--once"], cwd=ROOT, env=env,
                              capture_output=True, timeout=120)
        finished = time.monotonic()
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        at, reminder = live.next_timed(timeout=3)
        assert reminder["from"] == "bot" and at - finished < 1.0
        live.close()
    factory.close()


def test_the_stream_refuses_a_bad_resume_point(services: Services) -> None:
    with serving(services) as origin:
        token = sign(services.clock)
        for params, headers in (({"after": str(2**31)}, {}), ({"after": "-1"}, {}),
                                ({}, {"Last-Event-ID": "9" * 19}), ({}, {"Last-Event-ID": "abc"})):
            refused = httpx.get(f"{origin}/api/chat/stream", params={"token": token, **params}, headers=headers)
            assert refused.status_code == 422 and "error" in refused.json()
        assert HOST_SECRET not in refused.text


def test_the_stream_ends_when_its_token_expires(make_services: ServicesFactory) -> None:
    services = make_services(inapp_keepalive_seconds=0.2)
    with serving(services) as origin:
        live = EventStream(f"{origin}/api/chat/stream", {"token": sign(services.clock, lifetime=timedelta(minutes=5))})
        assert live.status == 200
        services.clock.advance(timedelta(minutes=7))  # type: ignore[attr-defined]
        live.finished(timeout=3)
        live.close()
        again = httpx.get(f"{origin}/api/chat/stream", params={"token": sign(services.clock, lifetime=-timedelta(
            minutes=5))})
        assert again.status_code == 401 and again.json()["error"] == "token expired"
