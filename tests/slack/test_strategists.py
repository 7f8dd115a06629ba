"""Strategists in the triage channel: the case card, Claim / Return / Resolve, relays both ways exactly
once, SLA reminders in the card's thread mentioning the backup."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.clock import ManualClock
from bot.types import Channel, ConversationKey, Inbound, InboundKind
from tests.fakes.slack_api import BOT_ID, BOT_USER
from tests.fakes.slack_requests import DM, STRATEGIST, block_actions, channel_message, dm
from tests.slack.conftest import BACKUP, TRIAGE, SlackRig


def _open_case(rig: SlackRig) -> dict[str, Any]:
    rig.event(dm("hi, we're a seller and want to connect"))
    rig.event(dm("can I talk to a real person pls"))
    rig.deliver()
    cards = [p for p in rig.fake.posts() if p["channel"] == TRIAGE and "thread_ts" not in p]
    assert len(cards) == 1
    return cards[0]


def _elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def _card_action(rig: SlackRig, card: dict[str, Any], action_id: str, step: str = "") -> None:
    element = next(e for e in _elements(card["blocks"]) if e["action_id"] == action_id)
    message = {"ts": card["ts"], "text": card["text"], "blocks": card["blocks"], "user": BOT_USER, "bot_id": BOT_ID}
    if step:
        option = next(o for o in element["options"] if o["value"].endswith(f":{step}"))
        action = {"type": "static_select", "action_id": action_id, "selected_option": option}
    else:
        action = {"type": "button", "action_id": action_id, "value": element["value"], "text": element["text"]}
    rig.interact(block_actions(channel=TRIAGE, message=message, action=action, user=STRATEGIST))
    rig.deliver()


def _card_updates(rig: SlackRig, card: dict[str, Any]) -> list[dict[str, Any]]:
    return [c.body for c in rig.fake.called("chat.update") if c.body["ts"] == card["ts"]]


def _thread(rig: SlackRig, card: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in rig.fake.posts() if p.get("thread_ts") == card["ts"]]


def _dm_texts(rig: SlackRig) -> list[str]:
    return [str(p["text"]) for p in rig.fake.posts() if p["channel"] == DM]


def test_a_new_case_posts_a_card_with_who_why_facts_sla_and_the_three_actions(rig: SlackRig) -> None:
    card = _open_case(rig)
    text = str(card["blocks"])
    assert "the customer asked for a person" in text and "<@UCUST0001>" in text and "SLA" in text
    ids = [e["action_id"] for e in _elements(card["blocks"])]
    assert ids == ["case:claim", "case:return", "case:resolve"]
    steps = [o["value"].split(":")[1] for e in _elements(card["blocks"]) if e["action_id"] == "case:return"
             for o in e["options"]]
    assert steps == ["start", "prerequisites", "region", "signin", "verify", "sp_api", "sync"]


def test_claim_reply_relay_and_resolve_each_once_with_the_card_updated_in_place(rig: SlackRig) -> None:
    card = _open_case(rig)
    _card_action(rig, card, "case:claim")
    assert any("Dana, a Data Strategist, has picked up your case" in t for t in _dm_texts(rig))
    [claimed] = _card_updates(rig, card)
    assert "Claimed by Dana" in str(claimed["blocks"])
    assert [e["action_id"] for e in _elements(claimed["blocks"])] == ["case:return", "case:resolve"]

    reply = channel_message("Hi Casey, I can see the profile. Which marketplace is missing?", channel=TRIAGE,
                            user=STRATEGIST, team="THOME0001", thread_ts=card["ts"])
    rig.event(reply)
    rig.event(reply, retry=1)
    rig.deliver()
    relayed = [t for t in _dm_texts(rig) if "Which marketplace is missing?" in t]
    assert relayed == ["*Dana* (Data Strategist): Hi Casey, I can see the profile. Which marketplace is missing?"]

    rig.event(dm("Germany, amazon.de"))
    rig.deliver()
    into_thread = [p for p in _thread(rig, card) if "amazon.de" in p["text"]]
    assert len(into_thread) == 1

    _card_action(rig, {**card, "blocks": claimed["blocks"]}, "case:resolve")
    assert "Resolved by Dana" in str(_card_updates(rig, card)[-1]["blocks"])
    assert not _elements(_card_updates(rig, card)[-1]["blocks"])
    last_dm = [p for p in rig.fake.posts() if p["channel"] == DM][-1]
    rating = next(e for e in _elements(last_dm["blocks"]) if e["text"]["text"] == "Good")
    rig.interact(block_actions(channel=DM, message={"ts": last_dm["ts"], "blocks": last_dm["blocks"]},
                               action={"type": "button", "action_id": rating["action_id"], "value": "Good",
                                       "text": {"type": "plain_text", "text": "Good"}}))
    rig.deliver()
    assert "rated it good" in str(_card_updates(rig, card)[-1]["blocks"])
    assert len(_card_updates(rig, card)) == 3  # claimed, resolved, rated: once each


def test_return_to_bot_at_a_chosen_step(rig: SlackRig) -> None:
    card = _open_case(rig)
    _card_action(rig, card, "case:return", step="region")
    assert "Handed back to the bot" in str(_card_updates(rig, card)[-1]["blocks"])
    assert rig.services.engine.conversation_id_for(ConversationKey(Channel.SLACK, "TCUST0001", "UCUST0001"))
    assert any("region" in t.lower() or "marketplace" in t.lower() for t in _dm_texts(rig)[-2:])


def test_sla_reminder_and_escalation_post_in_the_card_thread_mentioning_the_backup(rig: SlackRig) -> None:
    card = _open_case(rig)
    clock = rig.services.clock
    assert isinstance(clock, ManualClock)
    for _ in range(2):
        clock.advance(timedelta(minutes=31))
        rig.services.engine.fire_due_timers()
        rig.deliver()
    thread = _thread(rig, card)
    assert len(thread) == 2 and "Reminder" in thread[0]["text"]
    assert f"<@{BACKUP}>" in thread[1]["text"] and f"<@{BACKUP}>" in str(thread[1]["blocks"])
    assert "escalated" in str(_card_updates(rig, card)[-1]["blocks"])


def test_a_group_backup_is_mentioned_as_a_user_group(make_rig: Any) -> None:
    rig: SlackRig = make_rig(strategist_backup="SLEADS001")
    card = _open_case(rig)
    clock = rig.services.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(minutes=61))
    rig.services.engine.fire_due_timers()
    rig.deliver()
    assert any("<!subteam^SLEADS001>" in p["text"] for p in _thread(rig, card))


def test_a_strategist_answers_an_in_app_customer_from_the_triage_channel(rig: SlackRig) -> None:
    web = ConversationKey(Channel.WEBCHAT, "acme", "w1")
    engine = rig.services.engine
    engine.handle(web, Inbound(InboundKind.SAY, "w:1", text="hi, we're a seller and want to connect"))
    engine.handle(web, Inbound(InboundKind.SAY, "w:2", text="can I talk to a real person pls"))
    rig.deliver()
    [card] = [p for p in rig.fake.posts() if p["channel"] == TRIAGE]
    rig.event(channel_message("Hello from Dana", channel=TRIAGE, user=STRATEGIST, team="THOME0001",
                              thread_ts=card["ts"]))
    rig.deliver()
    conversation = engine.conversation_id_for(web)
    assert conversation is not None
    said = [p for _, p in engine.outbox_after(conversation, 0) if p.get("author")]  # what the widget reads
    assert [(p["author"], p["text"], p["audience"]) for p in said] == [("Dana", "Hello from Dana", "customer")]
    assert [p for p in rig.fake.posts() if p["channel"].startswith("D")] == []


def test_a_strategist_slack_cannot_look_up_is_shown_by_id_and_the_reply_still_goes_out_once(rig: SlackRig) -> None:
    card = _open_case(rig)
    rig.event(channel_message("Looking into it", channel=TRIAGE, user="UNKNOWN01", team="THOME0001",
                              thread_ts=card["ts"]))
    rig.deliver()
    assert [t for t in _dm_texts(rig) if "Looking into it" in t] == ["*UNKNOWN01* (Data Strategist): Looking into it"]
    assert rig.fake.called("users.info")[-1].body["user"] == "UNKNOWN01"


def test_the_card_s_sla_counts_business_hours(make_rig: Any) -> None:
    rig: SlackRig = make_rig(business_hours="Mon-Fri 09:00-18:00", case_sla="10h")
    card = _open_case(rig)  # opened Monday 09:00: nine business hours that day, the tenth on Tuesday
    assert "claim by Tue 6 Jan, 10:00 UTC" in str(card["blocks"])
