"""Several questions in one message: each answered once, in the order the customer asked them."""

from __future__ import annotations

import pytest

from bot.answer_order import in_asked_order
from bot.classify import Classifier, default_phrasings_dir
from bot.runner import Planned
from bot.types import Audience, Choice, Topic

YES_NO = (Choice("Yes", "yes"), Choice("No", "no"))


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(default_phrasings_dir())


def _aside(topic: Topic) -> Planned:
    return Planned(Audience.CUSTOMER, topic, f"answer about {topic.value}", aside=True)


def _prompt(topic: Topic) -> Planned:
    return Planned(Audience.CUSTOMER, topic, f"step about {topic.value}. Did it work?", YES_NO, prompt=True)


def _back(choices: tuple[Choice, ...]) -> Planned:
    return Planned(Audience.CUSTOMER, Topic.SIGNUP_EMAIL, "Back to the email: did it work?", choices)


def _topics(messages: list[Planned]) -> list[Topic]:
    return [m.topic for m in messages]


@pytest.mark.parametrize(("text", "asked"), [
    ("What is SP-API used for? Also the amazon sign in window closes right after I log in",
     [Topic.CONNECT_SP_API, Topic.CONNECT_AMAZON_ERROR]),
    ("my verification email never arrived; and how do I change my login email?",
     [Topic.SIGNUP_EMAIL, Topic.ACCOUNT_LOGIN]),
    ("We're a seller on amazon.sg. What do I need before connecting, and which region is Singapore?",
     [Topic.CONNECT_REQUIREMENTS, Topic.CONNECT_REGION]),
])
def test_the_classifier_lists_topics_in_the_order_asked(classifier: Classifier, text: str,
                                                        asked: list[Topic]) -> None:
    got = [t for t in classifier.understand(text).in_asked_order if t in asked]
    assert got == asked


def test_an_error_asked_second_is_still_acted_on_first(classifier: Classifier) -> None:
    heard = classifier.understand("What is SP-API used for? Also the amazon sign in window closes right after I log in")
    assert heard.topics[0] is Topic.CONNECT_AMAZON_ERROR  # the turn acts on the blocker ...
    assert heard.in_asked_order[0] is Topic.CONNECT_SP_API  # ... and answers in the customer's order


def test_asides_follow_the_order_asked() -> None:
    messages = [_aside(Topic.CONNECT_AMAZON_ERROR), _aside(Topic.CONNECT_SP_API)]
    ordered = in_asked_order(messages, [Topic.CONNECT_SP_API, Topic.CONNECT_AMAZON_ERROR], lambda c: None)
    assert _topics(ordered) == [Topic.CONNECT_SP_API, Topic.CONNECT_AMAZON_ERROR]


def test_a_step_asked_first_is_said_first_and_asked_again_last_with_its_choices() -> None:
    messages = [_aside(Topic.ACCOUNT_LOGIN), _prompt(Topic.SIGNUP_EMAIL)]
    ordered = in_asked_order(messages, [Topic.SIGNUP_EMAIL, Topic.ACCOUNT_LOGIN], _back)
    assert _topics(ordered) == [Topic.SIGNUP_EMAIL, Topic.ACCOUNT_LOGIN, Topic.SIGNUP_EMAIL]
    assert ordered[0].choices == () and ordered[-1].choices == YES_NO  # buttons only on the last message
    assert ordered[-1].text.startswith("Back to")


def test_a_step_asked_last_stays_last_and_whole() -> None:
    messages = [_aside(Topic.ACCOUNT_LOGIN), _prompt(Topic.SIGNUP_EMAIL)]
    ordered = in_asked_order(messages, [Topic.ACCOUNT_LOGIN, Topic.SIGNUP_EMAIL], _back)
    assert ordered == messages


def test_without_a_one_line_form_the_step_stays_last() -> None:
    messages = [_aside(Topic.ACCOUNT_LOGIN), _prompt(Topic.SIGNUP_EMAIL)]
    ordered = in_asked_order(messages, [Topic.SIGNUP_EMAIL, Topic.ACCOUNT_LOGIN], lambda c: None)
    assert _topics(ordered) == [Topic.ACCOUNT_LOGIN, Topic.SIGNUP_EMAIL]


def test_a_handoff_asked_first_is_still_the_last_word() -> None:
    handoff = Planned(Audience.CUSTOMER, Topic.HANDOFF_REQUEST, "I have passed this to a Data Strategist",
                      case_message=True, prompt=True)
    ping = Planned(Audience.STRATEGIST, Topic.HANDOFF_REQUEST, "case for the strategists")
    messages = [_aside(Topic.BILLING), handoff, ping]
    ordered = in_asked_order(messages, [Topic.HANDOFF_REQUEST, Topic.BILLING], _back)
    assert ordered == messages
