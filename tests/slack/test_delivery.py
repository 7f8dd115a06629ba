"""Delivery to Slack through the outbox: posted once (a crash between post and record is detected),
Slack's rate limits honoured per method, refusals turned into dead letters with one alert."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from bot.channels.slack.store import POSTS
from bot.clock import ManualClock
from bot.store.rows import OUTBOX
from tests.fakes.slack_api import Failure
from tests.fakes.slack_requests import dm
from tests.slack.conftest import TRIAGE, SlackRig


def _rows(rig: SlackRig) -> list[Any]:
    with rig.services.db.connect() as conn:
        return list(conn.execute(select(OUTBOX).order_by(OUTBOX.c.id)).all())


def _clock(rig: SlackRig) -> ManualClock:
    clock = rig.services.clock
    assert isinstance(clock, ManualClock)
    return clock


def test_a_row_posted_before_its_worker_died_is_found_by_its_marker_and_not_posted_again(rig: SlackRig) -> None:
    rig.event(dm("hi, we're a seller and want to connect"))
    rig.deliver()
    [first] = rig.fake.posts()
    # What a worker killed between chat.postMessage and its two records leaves behind: Slack has the
    # message, our post record has no ts, and the outbox row is still pending with a lease run out.
    with rig.services.db.begin() as conn:
        conn.execute(update(POSTS).values(ts="", channel=first["channel"].replace("D", "U", 1)))
        conn.execute(update(OUTBOX).values(status="pending", delivered_at=None, claimed_by=None, lease_until=None))
    rig.deliver()
    assert len(rig.fake.called("chat.postMessage")) == 1  # not posted twice
    assert rig.fake.called("conversations.history")  # looked for the marker first
    row = _rows(rig)[0]
    assert row.status == "delivered"
    with rig.services.db.connect() as conn:
        assert conn.execute(select(POSTS.c.ts)).scalar_one() == first["ts"]


def test_a_row_whose_worker_died_before_posting_is_posted_once(rig: SlackRig) -> None:
    rig.event(dm("hi, we're a seller and want to connect"))
    rig.deliver()
    rig.fake.messages.clear()  # Slack never got it: the worker died before the call went out
    with rig.services.db.begin() as conn:
        conn.execute(update(POSTS).values(ts=""))
        conn.execute(update(OUTBOX).values(status="pending", delivered_at=None))
    rig.deliver()
    assert len(rig.fake.posts()) == 1 and _rows(rig)[0].status == "delivered"


def test_slack_429_backs_off_as_asked_and_holds_the_method_for_other_rows(rig: SlackRig) -> None:
    rig.fake.fail("chat.postMessage", Failure("ratelimited", status=429, retry_after=7))
    rig.event(dm("hi, we're a seller and want to connect"))
    rig.event(dm("hello", user="UCUST0002"))
    rig.deliver()
    assert len(rig.fake.called("chat.postMessage")) == 1  # the second row did not hammer a limited method
    rows = _rows(rig)
    assert all(r.status == "pending" for r in rows) and all("rate limited" in r.last_error for r in rows)
    now = _clock(rig).now()
    assert all(timedelta(seconds=6) <= r.next_attempt_at.replace(tzinfo=now.tzinfo) - now <= timedelta(seconds=7)
               for r in rows)
    _clock(rig).advance(timedelta(seconds=8))
    rig.deliver()
    assert len(rig.fake.posts()) == 2 and all(r.status == "delivered" for r in _rows(rig))


def test_a_channel_slack_refuses_for_good_is_a_dead_letter_with_one_alert_in_triage(rig: SlackRig) -> None:
    rig.fake.fail("chat.postMessage", Failure("not_in_channel"))
    rig.event(dm("hi, we're a seller and want to connect"))
    rig.deliver()
    rows = _rows(rig)
    assert rows[0].status == "dead" and "not_in_channel" in rows[0].last_error
    alerts = [p for p in rig.fake.posts() if p["channel"] == TRIAGE]
    assert len(alerts) == 1 and "not_in_channel" in alerts[0]["text"]
    assert len(rig.fake.called("chat.postMessage")) == 2  # the message once, the alert once: no retries
    _clock(rig).advance(timedelta(hours=1))
    rig.deliver()
    assert len(rig.fake.called("chat.postMessage")) == 2


def test_a_revoked_token_kills_the_message_and_its_alert_without_an_alert_about_the_alert(rig: SlackRig) -> None:
    rig.fake.fail("chat.postMessage", Failure("token_revoked"), Failure("token_revoked"))
    rig.event(dm("hi, we're a seller and want to connect"))
    rig.deliver()
    rows = _rows(rig)
    assert [r.status for r in rows] == ["dead", "dead"] and rows[1].payload.get("alert")
    assert len(rig.fake.called("chat.postMessage")) == 2


def test_slack_down_is_retried_with_backoff_and_delivered_once_it_is_back(rig: SlackRig) -> None:
    rig.fake.fail("chat.postMessage", Failure("internal_error", status=500), Failure("service_unavailable"))
    rig.event(dm("hi, we're a seller and want to connect"))
    for _ in range(3):
        rig.deliver()
        _clock(rig).advance(timedelta(minutes=5))
    assert len(rig.fake.posts()) == 1 and _rows(rig)[0].status == "delivered"
    assert len(rig.fake.called("chat.postMessage")) == 3
