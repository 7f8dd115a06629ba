"""Support agents: the message shortcut with its modal, /connectbot status|handoff|case, App Home."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.slack_requests import (
    CUSTOMER,
    DM,
    app_home_opened,
    as_json,
    channel_message,
    dm,
    mention,
    message_action,
    slash_command,
    view_submission,
)
from tests.slack.conftest import TRIAGE, SlackRig


def _cards(rig: SlackRig) -> list[dict[str, Any]]:
    return [p for p in rig.fake.posts() if p["channel"] == TRIAGE and "thread_ts" not in p]


def _hand_off(rig: SlackRig, channel: str, message: dict[str, Any], note: str) -> None:
    rig.interact(message_action(channel=channel, message=message))
    [opened] = rig.fake.called("views.open")[-1:]
    view = opened.body["view"]
    assert view["callback_id"] == "handoff_note" and view["blocks"][0]["type"] == "input"
    rig.interact(view_submission(private_metadata=view["private_metadata"], note=note))
    rig.deliver()


def test_the_shortcut_on_a_dm_message_opens_a_modal_and_hands_the_conversation_off_with_the_note(
        rig: SlackRig) -> None:
    moment = "1780000200.000100"
    rig.event(dm("hi, we're a seller and want to connect", at=moment))
    rig.deliver()
    _hand_off(rig, DM, {"ts": moment, "user": CUSTOMER, "text": "hi", "team": "TCUST0001"},
              note="VIP account, please be quick")
    [card] = _cards(rig)
    assert "a support agent handed the conversation over" in str(card["blocks"])
    assert "VIP account, please be quick" in str(card["blocks"])
    _hand_off(rig, DM, {"ts": moment, "user": CUSTOMER, "text": "hi", "team": "TCUST0001"}, note="again")
    assert len(_cards(rig)) == 1  # the same conversation's case, not a second one


def test_the_shortcut_on_a_thread_message_hands_off_that_threads_conversation(rig: SlackRig) -> None:
    top = "1780000300.000100"
    rig.event(mention("hi, we're a seller and want to connect", at=top))
    rig.deliver()
    _hand_off(rig, "CSUPPORT1", {"ts": "1780000300.000200", "thread_ts": top, "user": CUSTOMER, "text": "x"},
              note="")
    [card] = _cards(rig)
    assert "a thread in <#CSUPPORT1>" in str(card["blocks"])
    handed = [p for p in rig.fake.posts() if p["channel"] == "CSUPPORT1"][-1]
    assert handed["thread_ts"] == top and "Data Strategist" in handed["text"]


def _command(rig: SlackRig, text: str, channel: str = "CSUPPORT1") -> str:
    hook = f"respond/{text.split()[0] if text else 'help'}"
    response = rig.send(*slash_command(text, channel=channel, response_url=f"{rig.fake.url}{hook}"))
    assert response.status_code == 200
    rig.settle()
    answers = rig.fake.called(hook)
    assert answers and answers[-1].body["response_type"] == "ephemeral"
    return str(answers[-1].body["text"])


def test_connectbot_status_handoff_and_case_answer_only_the_agent(rig: SlackRig) -> None:
    assert "no open bot conversation" in _command(rig, "status")
    top = "1780000400.000100"
    rig.event(mention("hi, we're a seller and want to connect", at=top))
    rig.event(channel_message("amazon.com", channel="CSUPPORT1", user=CUSTOMER, team="TCUST0001",
                              thread_ts=top))
    rig.deliver()
    status = _command(rig, "status")
    assert "is at step" in status and "First sync: not started" in status
    assert "Handed off" in _command(rig, "handoff please check the region")
    rig.deliver()
    [card] = _cards(rig)
    assert "please check the region" in str(card["blocks"])
    link = _command(rig, "case")
    assert "https://home.slack.com/archives/CTRIAGE01/p" in link
    assert rig.fake.called("chat.getPermalink")[-1].body["message_ts"] == card["ts"]
    assert "/connectbot status" in _command(rig, "")


def test_app_home_lists_open_cases_with_their_sla(rig: SlackRig) -> None:
    rig.event(app_home_opened())
    [empty] = rig.fake.called("views.publish")
    assert "No open cases" in json.dumps(empty.body["view"])
    rig.event(dm("hi, we're a seller and want to connect"))
    rig.event(dm("can I talk to a real person pls"))
    rig.deliver()
    rig.send(*as_json(app_home_opened()))
    rig.settle()
    view = rig.fake.called("views.publish")[-1].body
    assert view["user_id"] and "case-1" in json.dumps(view["view"]) and "claim by" in json.dumps(view["view"])
