"""Customers on Slack: a DM journey to the sign-in link, buttons and their update, mentions in threads,
Slack Connect, and everything the bot must not answer (its own messages, other bots, edits, retries)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.store.rows import CONVERSATIONS
from tests.fakes.slack_api import BOT_ID, BOT_USER
from tests.fakes.slack_requests import (
    CUSTOMER,
    DM,
    EXTERNAL,
    EXTERNAL_TEAM,
    block_actions,
    channel_message,
    dm,
    mention,
)
from tests.slack.conftest import SlackRig


def _last_post(rig: SlackRig) -> dict[str, Any]:
    posts = rig.fake.posts()
    assert posts, "nothing was posted"
    return posts[-1]


def _buttons(post: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]]


def _press(rig: SlackRig, post: dict[str, Any], label: str) -> None:
    button = next(e for e in _buttons(post) if e["text"]["text"] == label)
    message = {"ts": post["ts"], "text": post["text"], "blocks": post["blocks"], "user": BOT_USER, "bot_id": BOT_ID}
    rig.interact(block_actions(channel=post["channel"], message=message, action={
        "type": "button", "action_id": button["action_id"], "value": button["value"],
        "text": {"type": "plain_text", "text": label}}))


def _conversations(rig: SlackRig) -> int:
    with rig.services.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(CONVERSATIONS)).scalar_one())


def test_a_dm_journey_reaches_the_sign_in_link_with_buttons_replaced_after_the_press(rig: SlackRig) -> None:
    rig.event(dm("hi, we're a seller and want to connect"))
    rig.deliver()
    first = _last_post(rig)
    assert first["channel"] == DM and "thread_ts" not in first  # a DM is answered in the DM itself
    assert "Yes" in [b["text"]["text"] for b in _buttons(first)]

    _press(rig, first, "Yes")
    update = rig.fake.wait_for("chat.update", 1)[-1].body
    assert update["ts"] == first["ts"] and not [b for b in update["blocks"] if b["type"] == "actions"]
    assert "You chose: *Yes*" in str(update["blocks"])
    _press(rig, first, "Yes")  # the same old button again (a double click): nothing more happens
    rig.deliver()
    asked_region = rig.fake.posts()[1:]
    assert len(asked_region) == 1 and len(rig.fake.called("chat.update")) == 1

    rig.event(dm("amazon.com"))
    rig.deliver()
    link_post = _last_post(rig)
    urls = [str(e["url"]) for e in _buttons(link_post) if e.get("url")]
    assert len(urls) == 1 and "/connect/" in urls[0]  # the sign-in link as a URL button ...
    assert f"<{urls[0]}|" in str([b for b in link_post["blocks"] if b["type"] == "section"])  # ... and as text
    calls = rig.fake.called("chat.postMessage")
    assert all(c.token == "xoxb-test-token" for c in calls)
    assert all(c.body["metadata"]["event_type"] == "connectbot_outbox" for c in calls)


def test_a_retried_event_and_the_same_message_as_two_events_are_answered_once(rig: SlackRig) -> None:
    event = dm("hi, we're a seller and want to connect")
    rig.event(event)
    rig.event(event, retry=1)  # Slack's retry: same event_id
    rig.event({**event, "event_id": "EvOTHER0001"}, retry=2)  # same message, another delivery id
    rig.deliver()
    assert len(rig.fake.posts()) == 1

    moment = "1780000099.000100"
    rig.event(mention("hello, we're a vendor", at=moment))
    as_message = channel_message(f"<@{BOT_USER}> hello, we're a vendor", channel="CSUPPORT1", user=CUSTOMER,
                                 team="TCUST0001", at=moment, thread_ts=None)
    rig.event(as_message)
    rig.deliver()
    in_thread = [p for p in rig.fake.posts() if p["channel"] == "CSUPPORT1"]
    assert len(in_thread) == 1 and in_thread[0]["thread_ts"] == moment


def test_a_mention_is_answered_in_its_thread_and_the_thread_goes_on_without_mentions(rig: SlackRig) -> None:
    top = "1780000100.000100"
    rig.event(mention("hi, we're a seller and want to connect", at=top))
    rig.event(channel_message("what does this need?", channel="CSUPPORT1", user=CUSTOMER, team="TCUST0001",
                              thread_ts=top))
    rig.event(channel_message("just chatting, not to the bot", channel="CSUPPORT1", user=CUSTOMER,
                              team="TCUST0001"))
    rig.event(channel_message("another thread", channel="CSUPPORT1", user=CUSTOMER, team="TCUST0001",
                              thread_ts="1780000100.999999"))
    rig.deliver()
    posts = rig.fake.posts()
    assert posts and all(p["thread_ts"] == top for p in posts)
    assert len(posts) >= 2
    assert _conversations(rig) == 1


def test_slack_connect_messages_are_customers_of_their_own_team_mapped_to_an_org(make_rig: Any) -> None:
    rig: SlackRig = make_rig(slack_team_orgs={EXTERNAL_TEAM: "globex"})
    rig.event(channel_message("hi, we're a seller and want to connect", channel="CEXT00001", user=EXTERNAL,
                              team=EXTERNAL_TEAM, shared=True))
    rig.event(channel_message("our own staff talking", channel="CEXT00001", user="USTRAT001", team="THOME0001",
                              shared=True))
    rig.deliver()
    posts = rig.fake.posts()
    assert len(posts) == 1 and posts[0]["channel"] == "CEXT00001" and posts[0]["thread_ts"]
    with rig.services.db.connect() as conn:
        orgs = conn.execute(select(CONVERSATIONS.c.org)).scalars().all()
    assert orgs == ["globex"]


def test_own_messages_other_bots_edits_and_deletions_are_acked_and_dropped(rig: SlackRig) -> None:
    rig.event(dm("I am the bot", user=BOT_USER))
    rig.event(dm("beep", user="UOTHERBOT", bot_id="BOTHER001"))
    rig.event(dm("edited", subtype="message_changed"))
    rig.event(dm("", subtype="message_deleted"))
    rig.event(dm("joined", subtype="channel_join"))
    rig.deliver()
    assert rig.fake.posts() == [] and _conversations(rig) == 0
