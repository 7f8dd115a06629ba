"""Calibrated abstention: "is this about X, or Y?" instead of a guess between two close topics."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.amazon.links import seeded_tokens
from bot.app import build_services
from bot.bench.understanding import Abstainable, abstention_curve, tune_margin
from bot.classify import Slots, Understanding, extract_slots
from bot.clock import ManualClock
from bot.config import load_settings
from bot.runner import Outcome, Runner
from bot.types import Audience, Channel, ConversationKey, Inbound, InboundKind, Topic
from bot.which_of import button, picked
from flows.journey import Journey

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
OFFERED = (Topic.CONNECT_SECURITY, Topic.PREREQ_PERMISSIONS)
LABELS = ("safety and the access we get", "getting View and Edit access")
CLOSE = Understanding((Topic.CONNECT_SECURITY,), 0.47, Slots(), candidates=((Topic.CONNECT_SECURITY, 0.47),
                      (Topic.PREREQ_PERMISSIONS, 0.35)), alternatives=OFFERED)


def _say(runner: Runner, state: str, journey: Journey, text: str, heard: Understanding | None) -> Outcome:
    return runner.run(state, journey, Inbound(InboundKind.SAY, text, text=text), heard, NOW)


def _customer(outcome: Outcome) -> list[Topic]:
    return [m.topic for m in outcome.messages if m.audience == Audience.CUSTOMER]


@pytest.mark.parametrize(("said", "expected"), [
    ("Getting View and Edit access", Topic.PREREQ_PERMISSIONS),
    ("safety and the access we get", Topic.CONNECT_SECURITY),
    ("prereq.permissions", Topic.PREREQ_PERMISSIONS),
    ("the first one", Topic.CONNECT_SECURITY), ("2", Topic.PREREQ_PERMISSIONS),
    ("the other one", Topic.PREREQ_PERMISSIONS),
    ("getting view and edit acess", Topic.PREREQ_PERMISSIONS),  # a typo in the label
    ("how long does the sync take", None), ("yes", None),
])
def test_what_picks_an_option(said: str, expected: Topic | None) -> None:
    assert picked(OFFERED, LABELS, said) is expected


def test_close_topics_get_one_question_naming_both_with_a_button_each(runner: Runner) -> None:
    journey = Journey()
    outcome = _say(runner, "home.idle", journey, "the access thing", CLOSE)
    [question] = [m for m in outcome.messages if m.audience == Audience.CUSTOMER]
    assert question.topic is Topic.CLARIFY
    assert "View and Edit" in question.text and "safety" in question.text and question.text.rstrip().endswith("?")
    assert [c.value for c in question.choices] == [t.value for t in OFFERED]
    assert journey.which_of == [t.value for t in OFFERED]


def test_the_pick_answers_the_message_it_asked_about(runner: Runner) -> None:
    journey = Journey()
    _say(runner, "home.idle", journey, "the access thing", CLOSE)
    label = button(runner.label(Topic.PREREQ_PERMISSIONS))
    assert runner.accepts_click("home.idle", journey, label)
    outcome = runner.run("home.idle", journey, Inbound(InboundKind.CLICK, "k1", text=label), None, NOW)
    assert Topic.PREREQ_PERMISSIONS in _customer(outcome)
    assert journey.which_of == []  # answered once: the same click later is not a choice any more
    assert not runner.accepts_click(outcome.state, journey, label)


def test_saying_something_else_moves_on(runner: Runner) -> None:
    journey = Journey()
    _say(runner, "home.idle", journey, "the access thing", CLOSE)
    text = "how much does it cost"
    heard = Understanding((Topic.BILLING,), 0.95, extract_slots(text))
    outcome = _say(runner, "home.idle", journey, text, heard)
    assert _customer(outcome)[0] is Topic.BILLING and journey.which_of == []


def test_no_question_when_both_readings_do_the_same(runner: Runner) -> None:
    """'How do I start' and 'what do I need' open the same journey: the bot goes ahead."""
    same = Understanding((Topic.CONNECT_START,), 0.45, Slots(), alternatives=(Topic.CONNECT_START,
                                                                               Topic.CONNECT_REQUIREMENTS))
    outcome = _say(runner, "home.idle", Journey(), "getting going", same)
    assert Topic.CLARIFY not in _customer(outcome)


def test_the_margin_is_set_where_abstentions_replace_wrong_guesses() -> None:
    outcomes = [Abstainable(False, 0.05), Abstainable(False, 0.12), Abstainable(True, 0.18),
                Abstainable(True, 0.33), Abstainable(True, 0.41), Abstainable(True, None)]
    assert abstention_curve(outcomes, 0.15) == (2 / 6, 1.0, 1.0)
    # up to 0.40 at least half the abstentions replace a wrong guess; at 0.45 two of five do
    assert tune_margin([outcomes]) == 0.40
    # customers' own text where the first abstention replaces a right guess keeps the margin at 0.05
    assert tune_margin([outcomes, [Abstainable(True, 0.08), Abstainable(False, 0.30)]]) == 0.05
    assert tune_margin([[Abstainable(True, 0.01)]]) == 0.0  # abstaining at all replaces a right guess: off


@pytest.mark.parametrize(("margin", "asks_which"), [(None, False), ("0.35", True)])
def test_the_service_asks_which_of_two_only_when_a_margin_is_set(
        margin: str | None, asks_which: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if margin is not None:
        monkeypatch.setenv("ABSTAIN_MARGIN", margin)
    services = build_services(load_settings(database_url=f"sqlite:///{tmp_path / 'w.db'}",
                                            token_key_file=str(tmp_path / "token.key")),
                              clock=ManualClock(), tokens=seeded_tokens())
    try:
        key = ConversationKey(Channel.WEBCHAT, "acme", "u1")
        result = services.engine.handle(key, Inbound(InboundKind.SAY, "k1", text="the access bit"))
    finally:
        services.db.dispose()
    first = [m for m in result.messages if m.audience == Audience.CUSTOMER][0]
    offered = {c.label for c in first.choices}
    assert ({"Getting View and Edit access", "Safety and the access we get"} <= offered) is asks_which
