"""Answer first: what counts as a question, a statement or small talk, and the bench that scores first replies."""

from __future__ import annotations

import pytest

from bot.bench.replies import first_replies
from bot.classify import Classifier, default_phrasings_dir
from bot.knowledge import Knowledge
from bot.understanding.slots import extract_admin, extract_advertised
from flows.handoff import relay_kind
from flows.social import social_kind


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(default_phrasings_dir())


@pytest.mark.parametrize(("text", "kind"), [
    ("thanks!", "thanks"), ("ok thanks a lot", "thanks"), ("bye", "bye"), ("ok", "ack"), ("👍", "ack"),
    ("hello?", "presence"), ("are you there", "presence"), ("hi there", "hello"),
    ("thanks, and is it safe?", None), ("yes", None), ("done", None), ("ok so what now", None),
])
def test_small_talk_is_told_apart_from_answers_and_questions(text: str, kind: str | None) -> None:
    assert social_kind(text) == kind


@pytest.mark.parametrize(("text", "advertised", "admin"), [
    ("Vendor, we sell on .de and .fr, ads running for years, I'm admin", True, True),
    ("do I need running campaigns? do i need admin access?", None, None),
    ("we never advertised", False, None),
    ("we never ran a campaign on amazon", False, None),
    ("I only have viewer access", None, False),
    ("we have active campaigns and I have view and edit", True, True),
])
def test_statements_about_the_prerequisites(text: str, advertised: bool | None, admin: bool | None) -> None:
    assert (extract_advertised(text), extract_admin(text)) == (advertised, admin)


@pytest.mark.parametrize(("text", "kind"), [
    ("how long will it take?", "how_long"), ("any update?", "how_long"), ("what happens next?", "next"),
    ("thanks", "social"), ("our account id is 123", "other"),
])
def test_what_a_customer_asks_a_waiting_case(text: str, kind: str) -> None:
    assert relay_kind(text) == kind


def test_an_answer_before_a_step_drops_the_articles_closing_call_to_action() -> None:
    article = Knowledge.load().articles["connect-region"]
    assert "Tell me your marketplaces" in article.body
    assert "Tell me your marketplaces" not in article.answer
    assert "Far East" in article.answer


def test_the_bench_scores_the_bots_first_reply(classifier: Classifier) -> None:
    rows: list[dict[str, object]] = [
        {"text": "is amazon.com.br part of North America?", "topics": ["connect.region"]},
        {"text": "connect amazon", "topics": ["connect.start"]},
        {"text": "is it safe? and which region is amazon.co.jp in?", "topics": ["connect.security", "connect.region"]},
        {"text": "how do I connect?", "topics": ["billing"]},  # a deliberate miss: the reply is about connecting
    ]
    report = first_replies(classifier, rows)
    assert report.rows == 4 and report.first_correct == 3
    assert [m.text for m in report.misses] == ["how do I connect?"]
    assert report.multi_rows == 1 and report.multi_recall == 1.0


def test_a_region_question_in_words_no_pattern_lists_is_answered_before_the_journey(classifier: Classifier) -> None:
    """'with one login' is in no list of region words; the model's sure reading makes it a question all the same,
    while a marketplace only stated on the way to connecting still starts the journey without a region answer."""
    rows: list[dict[str, object]] = [
        {"text": "can I connect Mexico and Canada with one login", "topics": ["connect.region"]},
        {"text": "we sell on amazon.de and .fr, let's connect", "topics": ["connect.start"]},
    ]
    report = first_replies(classifier, rows)
    assert report.first_correct == 2, [m.text for m in report.misses]
