"""What reaches POST /slack/events before anything runs: signatures, the replay window, and bad bodies."""

from __future__ import annotations

import json
import logging
import time

import pytest
from sqlalchemy import func, select

from bot.store.rows import CONVERSATIONS, KEYS
from tests.fakes.slack_requests import SECRET, as_form, as_json, dm, signature, url_verification
from tests.slack.conftest import SlackRig


def _rows(rig: SlackRig) -> int:
    with rig.services.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(CONVERSATIONS)).scalar_one()
                   + conn.execute(select(func.count()).select_from(KEYS)).scalar_one())


def test_url_verification_echoes_the_challenge_when_signed(rig: SlackRig) -> None:
    response = rig.send(*as_json(url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")))
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert rig.fake.called("auth.test") == []


@pytest.mark.parametrize("how", ["unsigned", "forged", "other secret", "stale", "from the future", "body changed"])
def test_requests_not_signed_by_slack_within_five_minutes_are_refused_before_anything_runs(
        rig: SlackRig, how: str) -> None:
    body, content_type = as_json(dm("hi, we're a seller and want to connect"))
    now = str(int(time.time()))
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": now,
               "X-Slack-Signature": signature(body, now)}
    if how == "unsigned":
        headers = {"Content-Type": content_type}
    elif how == "forged":
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    elif how == "other secret":
        headers["X-Slack-Signature"] = signature(body, now, secret="not-" + SECRET)
    elif how in ("stale", "from the future"):
        moment = str(int(time.time()) + (-301 if how == "stale" else 301))
        headers.update({"X-Slack-Request-Timestamp": moment, "X-Slack-Signature": signature(body, moment)})
    else:
        body = body.replace(b"seller", b"vendor")
    response = rig.client.post("/slack/events", content=body, headers=headers)
    rig.settle()
    assert response.status_code == 401
    assert rig.fake.calls == [] and _rows(rig) == 0  # not even auth.test: nothing ran


def test_a_forged_body_that_is_not_json_is_refused_by_the_signature_not_the_parser(rig: SlackRig) -> None:
    response = rig.client.post("/slack/events", content=b"{not json", headers={
        "Content-Type": "application/json", "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "1" * 64})
    assert response.status_code == 401


def test_signed_but_malformed_oversized_or_unknown_requests_get_a_4xx_or_a_quiet_200(rig: SlackRig) -> None:
    assert rig.send(b"{not json", "application/json").status_code == 400
    assert rig.send(b"payload=%7Bbroken", "application/x-www-form-urlencoded").status_code == 400
    assert rig.send(b"{" + b" " * 1_000_001 + b"}", "application/json").status_code == 413
    unknown = rig.send(*as_form({"type": "something_new", "team": {"id": "T1"}, "user": {"id": "U1"}}))
    assert 200 <= unknown.status_code < 500
    other_event = rig.send(*as_json({**dm("x"), "event": {"type": "reaction_added", "user": "U1"}}))
    assert other_event.status_code == 200  # subscribed-but-unanswered events must not be 404 (Slack retries those)
    rig.settle()
    assert rig.fake.posts() == [] and _rows(rig) == 0


def test_no_token_or_signing_secret_in_any_log_line(rig: SlackRig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rig.event(dm("hi, we're a seller and want to connect"))
    rig.send(b"{}", "application/json", secret="wrong")
    rig.deliver()
    text = "\n".join(r.getMessage() for r in caplog.records) + json.dumps([str(r.args) for r in caplog.records])
    assert "xoxb-test-token" not in text and SECRET not in text


def test_slack_tokens_are_redacted_from_log_lines() -> None:
    from bot.logsafe import redact

    line = "calling Slack with xoxb-1234-5678-AbCd and xapp-1-A0APP-99-ff, user token xoxp-1-2-3"
    assert redact(line) == "calling Slack with [redacted] and [redacted], user token [redacted]"
