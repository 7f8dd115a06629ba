"""Outbox delivery to a real HTTP receiver: keys, retries, Retry-After, dead letters, order, shutdown."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Services
from bot.clock import ManualClock
from bot.outbox import ATTEMPTS, Outbox
from bot.store.rows import OUTBOX
from bot.types import Channel, ConversationKey
from bot.worker import build_outbox
from tests.conftest import ServicesFactory
from tests.fakes.receiver import Answer, Receiver, running_receiver
from tests.fakes.talk import say


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def _services(make_services: ServicesFactory, receiver: Receiver, clock: ManualClock, **settings: object) -> Services:
    return make_services(clock=clock, outbox_customer_url=f"{receiver.url}/push",
                         outbox_strategist_url=f"{receiver.url}/strategists", outbox_timeout_seconds=2, **settings)


def _drain(outbox: Outbox) -> int:
    """Delivery rounds until nothing is due; returns how many rows were tried."""
    tried = 0
    while (n := outbox.run_once()) > 0:
        tried += n
    return tried


def _rows(services: Services) -> list[dict[str, Any]]:
    with services.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(OUTBOX).order_by(OUTBOX.c.id))]


def _outcomes(services: Services) -> list[str]:
    with services.db.connect() as conn:
        return list(conn.execute(select(ATTEMPTS.c.outcome).order_by(ATTEMPTS.c.id)).scalars())


def test_each_message_reaches_its_receiver_once_with_its_key(make_services: ServicesFactory,
                                                             receiver: Receiver) -> None:
    services = _services(make_services, receiver, ManualClock())
    say(services, "hi, how long does the first sync take?")
    outbox = build_outbox(services, "w1")
    assert _drain(outbox) > 0
    rows = _rows(services)
    assert [r["status"] for r in rows] == ["delivered"] * len(rows)
    assert sorted(receiver.accepted) == sorted(f"connectbot-outbox-{r['id']}" for r in rows)
    first = receiver.accepted[f"connectbot-outbox-{rows[0]['id']}"]
    assert first.path == "/push"
    assert first.body["conversation"] == "c-1" and first.body["org"] == "acme" and first.body["user"] == "u1"
    assert first.body["text"] == rows[0]["payload"]["text"]
    assert receiver.raw_duplicates == 0
    assert _outcomes(services) == ["delivered"] * len(rows)
    assert _drain(outbox) == 0, "delivered rows are not sent again"


def test_without_a_url_messages_are_marked_delivered_for_the_widget(make_services: ServicesFactory) -> None:
    services = make_services()
    say(services, "hi, how long does the first sync take?")
    _drain(build_outbox(services, "w1"))
    assert {r["status"] for r in _rows(services)} == {"delivered"}


def test_server_errors_are_retried_with_growing_delays(make_services: ServicesFactory, receiver: Receiver) -> None:
    clock = ManualClock()
    services = _services(make_services, receiver, clock, outbox_backoff_seconds=2)
    say(services, "hi, how long does the first sync take?")
    receiver.answer_next(Answer(500), Answer(503))
    outbox = build_outbox(services, "w1")
    assert outbox.run_once() == 1 and _rows(services)[0]["last_error"].startswith("HTTP 500")
    assert outbox.run_once() == 0, "not before the backoff"
    clock.advance(timedelta(seconds=2))
    assert outbox.run_once() == 1  # second try: 503
    clock.advance(timedelta(seconds=2))
    assert outbox.run_once() == 0, "the second delay is twice the first"
    clock.advance(timedelta(seconds=2))
    _drain(outbox)
    assert _outcomes(services)[:3] == ["retry", "retry", "delivered"]
    assert len(receiver.accepted) == len(_rows(services)) and receiver.raw_duplicates == 0
    assert _rows(services)[0]["attempts"] == 3


def test_429_retry_after_is_honoured(make_services: ServicesFactory, receiver: Receiver) -> None:
    clock = ManualClock()
    services = _services(make_services, receiver, clock)
    say(services, "hi, how long does the first sync take?")
    receiver.answer_next(Answer(429, retry_after="120"))
    outbox = build_outbox(services, "w1")
    outbox.run_once()
    clock.advance(timedelta(seconds=119))
    assert outbox.run_once() == 0, "the receiver asked for two minutes"
    clock.advance(timedelta(seconds=1))
    _drain(outbox)
    assert _rows(services)[0]["status"] == "delivered"


def test_a_refused_message_is_dead_and_the_strategists_hear_once(make_services: ServicesFactory,
                                                                  receiver: Receiver,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    services = _services(make_services, receiver, ManualClock())
    say(services, "hi, how long does the first sync take?")
    receiver.answer_next(Answer(400))
    with caplog.at_level(logging.ERROR, logger="connectbot.outbox"):
        _drain(build_outbox(services, "w1"))
    rows = _rows(services)
    assert rows[0]["status"] == "dead" and rows[0]["attempts"] == 1, "a 4xx is not retried"
    alerts = [r for r in rows if r["payload"].get("alert")]
    assert len(alerts) == 1 and alerts[0]["status"] == "delivered"
    [alert] = [p for p in receiver.accepted.values() if p.path == "/strategists"]
    assert "c-1" in alert.body["text"] and "HTTP 400" in alert.body["text"]
    assert "is dead" in caplog.text


def test_an_alert_that_cannot_be_delivered_raises_no_alert_about_itself(make_services: ServicesFactory,
                                                                        receiver: Receiver) -> None:
    clock = ManualClock()
    services = _services(make_services, receiver, clock, outbox_max_attempts=2)
    say(services, "hi, how long does the first sync take?")
    receiver.answer_next(*[Answer(500)] * 20)  # the customer endpoint and the strategists' channel both down
    outbox = build_outbox(services, "w1")
    for _ in range(6):
        outbox.run_once()
        clock.advance(timedelta(minutes=10))
    rows = _rows(services)
    assert {r["status"] for r in rows} == {"dead"}
    alerts = [r for r in rows if r["payload"].get("alert")]
    customer = [r for r in rows if not r["payload"].get("alert")]
    assert len(alerts) == len(customer), "one alert per dead message, none about a dead alert"


def test_a_hanging_target_is_given_up_on_and_tried_again(make_services: ServicesFactory, receiver: Receiver,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    services = _services(make_services, receiver, clock)
    services.settings.outbox_timeout_seconds = 0.3
    say(services, "hi, how long does the first sync take?")
    receiver.answer_next(Answer(hang_seconds=1.0))
    outbox = build_outbox(services, "w1")
    with caplog.at_level(logging.WARNING, logger="connectbot.outbox"):
        outbox.run_once()
    assert "no answer within the timeout" in caplog.text
    clock.advance(timedelta(minutes=1))
    _drain(outbox)
    assert _rows(services)[0]["status"] == "delivered"
    assert len(receiver.accepted) == len(_rows(services)), "the person saw it once though it travelled twice"


def test_a_message_waiting_for_a_retry_is_not_overtaken(make_services: ServicesFactory, receiver: Receiver) -> None:
    clock = ManualClock()
    services = _services(make_services, receiver, clock)
    say(services, "how long does the first sync take?")
    say(services, "is this safe? do you see my password")
    receiver.answer_next(Answer(500))
    outbox = build_outbox(services, "w1")
    _drain(outbox)
    assert receiver.accepted == {}, "the later message waits behind the first"
    clock.advance(timedelta(minutes=1))
    _drain(outbox)
    delivered = [r["id"] for r in _rows(services)]
    assert [p.key for p in receiver.accepted.values()] == [f"connectbot-outbox-{i}" for i in delivered]


def test_shutdown_releases_what_was_claimed_but_not_tried(make_services: ServicesFactory, receiver: Receiver) -> None:
    services = _services(make_services, receiver, ManualClock())
    for n in range(3):
        say(services, "how long does the first sync take?", key=ConversationKey(Channel.WEBCHAT, "acme", f"u{n}"))
    stop = threading.Event()
    stop.set()
    assert build_outbox(services, "leaving").run_once(stop) == 0
    rows = _rows(services)
    assert {(r["claimed_by"], r["attempts"], r["status"]) for r in rows} == {(None, 0, "pending")}
    _drain(build_outbox(services, "next"))
    assert len(receiver.accepted) == len(rows), "another worker takes them at once"
