"""The Slack converters with plain dicts: payload -> Inbound, outbound -> Block Kit within limits, the card,
mentions, and the manifest agreeing with the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.channels.slack.agents import MODAL, SHORTCUT
from bot.channels.slack.blocks import answered, split_text, to_blocks
from bot.channels.slack.cards import mention, with_mentions
from bot.channels.slack.convert import CustomerMessage, Dropped, StrategistReply, place_of, press_of, to_inbound
from bot.render import Templates
from bot.types import Channel, ConversationKey, InboundKind
from tests.fakes.slack_requests import block_actions, channel_message, dm
from tests.fakes.slack_requests import mention as mention_event

TEMPLATES = Templates()


def _inbound(body: dict[str, Any], **kw: Any) -> Any:
    return to_inbound(body, bot_user="UBOT00001", own_team="THOME0001", **kw)


def test_a_dm_is_one_conversation_keyed_by_the_customer_and_their_team() -> None:
    got = _inbound(dm("hello", at="1.000001"), team_orgs={"TCUST0001": "acme"})
    assert isinstance(got, CustomerMessage)
    assert got.key == ConversationKey(Channel.SLACK, "acme", "UCUST0001")
    assert got.inbound.kind == InboundKind.SAY and got.inbound.text == "hello"
    assert got.inbound.key == "slack:DCUST0001:1.000001"


def test_a_mention_is_keyed_by_its_thread_and_loses_the_mention() -> None:
    top = _inbound(mention_event("help me", at="5.000001"))
    reply = _inbound(mention_event("and this", thread_ts="5.000001", at="5.000002"))
    assert isinstance(top, CustomerMessage) and isinstance(reply, CustomerMessage)
    assert top.key.user == reply.key.user == "CSUPPORT1/5.000001"
    assert top.inbound.text == "help me" and place_of(top.key.user).thread_ts == "5.000001"


def test_slack_connect_messages_start_conversations_but_our_own_team_does_not() -> None:
    theirs = _inbound(channel_message("hi", channel="CEXT1", user="UEXT00001", team="TEXT00001", shared=True))
    ours = _inbound(channel_message("hi", channel="CEXT1", user="USTRAT001", team="THOME0001", shared=True))
    assert isinstance(theirs, CustomerMessage) and theirs.starts and theirs.key.org == "TEXT00001"
    assert isinstance(ours, Dropped)


@pytest.mark.parametrize(("extra", "why"), [
    ({"user": "UBOT00001"}, "own"), ({"bot_id": "B1"}, "bot"), ({"subtype": "message_changed"}, "subtype"),
    ({"subtype": "message_deleted"}, "subtype"), ({"text": "   "}, "without text"),
])
def test_what_is_dropped_and_why(extra: dict[str, Any], why: str) -> None:
    body = dm("hello")
    body["event"].update(extra)
    got = _inbound(body)
    assert isinstance(got, Dropped) and why in got.reason


def test_a_triage_thread_message_is_a_strategist_reply_and_a_top_level_one_is_not() -> None:
    reply = _inbound(channel_message("hi", channel="CTRI", user="USTRAT001", team="THOME0001", thread_ts="9.1"),
                     triage_channel="CTRI")
    top = _inbound(channel_message("hi", channel="CTRI", user="USTRAT001", team="THOME0001"), triage_channel="CTRI")
    assert isinstance(reply, StrategistReply) and reply.thread_ts == "9.1"
    assert isinstance(top, Dropped)


def test_long_text_is_split_into_sections_within_limits_and_cut_with_a_note_past_the_message_limit() -> None:
    words = ("word " * 700).strip()
    assert all(len(p) <= 3000 for p in split_text(words)) and " ".join(split_text(words)) == words
    huge = to_blocks({"text": "x" * 50_000, "audience": "customer", "topic": "clarify"}, TEMPLATES)
    sections = [b for b in huge["blocks"] if b["type"] == "section"]
    assert all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert sum(len(b["text"]["text"]) for b in sections) <= 12_000
    assert huge["blocks"][-1]["type"] == "context" and len(huge["text"]) <= 3000


def test_choices_are_buttons_links_are_url_buttons_and_text_and_markup_is_escaped() -> None:
    out = to_blocks({"text": "Pick <one> & go", "choices": [f"Choice {n}" for n in range(30)],
                     "links": [{"label": "Sign in with Amazon (Europe)", "url": "https://bot/connect/abc",
                                "authorize_url": "https://amazon", "region": "EU"}]}, TEMPLATES)
    assert out["blocks"][0]["text"]["text"].startswith("Pick &lt;one&gt; &amp; go")
    assert "<https://bot/connect/abc|Sign in with Amazon (Europe)>" in out["blocks"][0]["text"]["text"]
    actions = [b for b in out["blocks"] if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions] == [25, 6]
    assert actions[0]["elements"][0]["url"] == "https://bot/connect/abc"
    after = answered(out["blocks"], "Choice 3", TEMPLATES)
    remaining = [e for b in after if b["type"] == "actions" for e in b["elements"]]
    assert remaining == [actions[0]["elements"][0]]  # the link stays usable, the choices are gone
    assert "You chose: *Choice 3*" in str(after[-1])


def test_a_person_s_reply_is_marked_with_their_name() -> None:
    out = to_blocks({"text": "On it", "author": "Dana"}, TEMPLATES)
    assert out["text"] == "*Dana* (Data Strategist): On it"


def test_a_press_reads_buttons_and_menus() -> None:
    button = press_of(block_actions(channel="D1", message={"ts": "1.1"}, action={
        "action_id": "choice:0", "value": "Yes", "text": {"type": "plain_text", "text": "Yes"}}))
    menu = press_of(block_actions(channel="C1", message={"ts": "2.2"}, action={
        "action_id": "case:return", "selected_option": {"value": "4:region", "text": {"text": "Region"}}}))
    assert button is not None and (button.value, button.label, button.channel) == ("Yes", "Yes", "D1")
    assert menu is not None and (menu.value, menu.label) == ("4:region", "Region")
    assert press_of({"type": "block_actions", "actions": []}) is None


def test_strategist_ids_become_mentions_and_names_stay_as_they_are() -> None:
    assert mention("U0123ABC") == "<@U0123ABC>" and mention("S0LEADS") == "<!subteam^S0LEADS>"
    assert mention("data-strategists") == "data-strategists"
    text = with_mentions("Escalated by data-strategists. U0123ABC, please take it.", {"U0123ABC", "data-strategists"})
    assert text == "Escalated by data-strategists. <@U0123ABC>, please take it."
    assert with_mentions("<@U0123ABC> already", {"U0123ABC"}) == "<@U0123ABC> already"


def test_the_manifest_subscribes_to_what_the_app_answers() -> None:
    manifest = yaml.safe_load((Path(__file__).parents[2] / "slack" / "manifest.yml").read_text())
    assert [s["callback_id"] for s in manifest["features"]["shortcuts"]] == [SHORTCUT]
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/connectbot"]
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"message.im", "app_mention", "message.channels", "app_home_opened"} <= events
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert {"chat:write", "im:history", "app_mentions:read", "users:read"} <= set(
        manifest["oauth_config"]["scopes"]["bot"])
    assert MODAL == "handoff_note"
