"""The scripted journeys of tests/conversations/ that only talk (say, click), replayed as a Slack DM.

Each `say` is a signed `message.im` event, each `click` a press of the button with that label on the
bot's latest DM message; replies travel through the outbox to the fake Slack Web API. What Slack
shows is checked on the posts (buttons, link buttons, text, case cards in the triage channel); what
it cannot show (topics) on the outbox rows the turn wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.store.rows import OUTBOX
from tests.fakes.slack_api import BOT_ID, BOT_USER
from tests.fakes.slack_requests import DM, block_actions, dm
from tests.slack.conftest import TRIAGE, SlackRig
from tests.test_conversations import ABSTAIN_MARGIN_OF

JOURNEYS = Path(__file__).parents[1] / "conversations"
TALK_ONLY = {"user", "say", "click", "expect"}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _talk_only() -> list[Path]:
    found = []
    for path in sorted(JOURNEYS.glob("*.jsonl")):
        try:
            lines = _lines(path)
        except ValueError:
            continue  # a file that tests malformed lines on purpose
        if all(set(line) <= TALK_ONLY for line in lines) and path.stem not in ABSTAIN_MARGIN_OF:
            found.append(path)  # (a journey of a feature off by default runs in tests/test_conversations.py)
    return found


def _buttons(post: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in post.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


def _last_outbox(rig: SlackRig) -> int:
    with rig.services.db.connect() as conn:
        return int(conn.execute(select(func.max(OUTBOX.c.id))).scalar() or 0)


def _rows_after(rig: SlackRig, after: int) -> list[dict[str, Any]]:
    with rig.services.db.connect() as conn:
        return [dict(r.payload) for r in conn.execute(select(OUTBOX).where(OUTBOX.c.id > after)
                                                      .order_by(OUTBOX.c.id))]


def _check(expect: dict[str, Any], rows: list[dict[str, Any]], posts: list[dict[str, Any]], channel: str,
           where: str) -> None:
    topics = [r["topic"] for r in rows]
    customer_posts = [p for p in posts if p["channel"] == channel]
    if "topic" in expect:
        assert expect["topic"] in topics, where
    if "first_topic" in expect:
        assert [r["topic"] for r in rows if r["audience"] == "customer"][:1] == [expect["first_topic"]], where
    if "not_topic" in expect:
        assert expect["not_topic"] not in topics, where
    for topic in expect.get("topics", []):
        assert topic in topics, where
    if "audience" in expect:
        assert expect["audience"] in [r["audience"] for r in rows], where
    if "case" in expect:
        assert any(p["channel"] == TRIAGE and "thread_ts" not in p for p in posts), where  # the case card
    if "text" in expect:
        assert any(expect["text"].lower() in str(p["text"]).lower() for p in posts), where
    if "choices_include" in expect:
        assert customer_posts, where
        assert expect["choices_include"] in [e["text"]["text"] for e in _buttons(customer_posts[-1])], where
    links = [e for p in customer_posts for e in _buttons(p) if e.get("url")]
    if "link_count" in expect:
        assert len(links) == expect["link_count"], where
    if "link_region" in expect:
        assert links and any(r.get("links") and r["links"][0]["region"] == expect["link_region"]
                             for r in rows), where


@pytest.mark.parametrize("path", _talk_only(), ids=lambda p: p.stem)
def test_a_scripted_journey_works_the_same_in_a_slack_dm(rig: SlackRig, path: Path) -> None:
    rows: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []
    user, channel = "UCUST0001", DM
    for number, line in enumerate(_lines(path), 1):
        where = f"{path.name}:{number}"
        if "expect" in line:
            _check(line["expect"], rows, posts, channel, where)
            continue
        if "user" in line:  # another customer: their own DM (the fake answers a post to U... in D...)
            tag = "".join(ch for ch in str(line["user"]["id"]).upper() if ch.isalnum())[:8]
            user, channel = f"UJ{tag}", f"DJ{tag}"
            continue
        before, seen = _last_outbox(rig), len(rig.fake.posts())
        if "say" in line:
            rig.event(dm(str(line["say"]), user=user, channel=channel))
        else:
            latest = [p for p in rig.fake.posts() if p["channel"] == channel][-1]
            button = next(e for e in _buttons(latest) if e["text"]["text"] == line["click"])
            message = {"ts": latest["ts"], "blocks": latest["blocks"], "user": BOT_USER, "bot_id": BOT_ID}
            rig.interact(block_actions(channel=channel, message=message, user=user, action={
                "type": "button", "action_id": button["action_id"], "value": button["value"],
                "text": button["text"]}))
        rig.deliver()
        rows, posts = _rows_after(rig, before), rig.fake.posts()[seen:]
    assert not [r for r in _rows_after(rig, 0) if r.get("alert")]  # nothing died on the way
