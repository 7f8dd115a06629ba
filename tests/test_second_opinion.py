"""A language model's second opinion, against a fake chat-completions server: used when the local model is
unsure, ignored when it fails, slow or talks nonsense, never sent the key in the clear or told to the logs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from bot.app import Services, StartupError
from bot.bench.replies import first_replies
from bot.classify import Classifier, Slots, Understanding
from bot.config import Settings
from bot.engine import TurnResult
from bot.types import Channel, ConversationKey, Topic
from bot.understanding.second_opinion import Opinion, combine, merge_slots, parse_opinion
from bot.understanding.topic_guide import TOPIC_GUIDE, system_prompt
from tests.conftest import ServicesFactory
from tests.fakes.chat_model import FakeChatModel, Reply, opinion, running_chat_model
from tests.fakes.talk import say, topics

KEY = "sk-test-0123456789abcdef"
# The local model alone cannot tell what this asks (it answers `clarify`), but has sync.status among its
# three likeliest topics: a plausible second opinion.
UNSURE = "i think it is hooked up but i dont see numbers"
CONFIDENT = "does the platform see my password"


@pytest.fixture
def chat_model() -> Iterator[FakeChatModel]:
    with running_chat_model() as fake:
        yield fake


def _with_model(make_services: ServicesFactory, fake: FakeChatModel, **settings: object) -> Services:
    return make_services(None, llm_base_url=fake.url, llm_model="fake-model", llm_api_key=KEY, **settings)


def _first_topic(result: TurnResult) -> str:
    return topics(result)[0]


def test_a_good_answer_changes_an_unsure_messages_first_reply(make_services: ServicesFactory,
                                                             chat_model: FakeChatModel) -> None:
    alone = make_services()
    assert _first_topic(say(alone, UNSURE)) == "clarify"  # the local model alone asks what they mean

    chat_model.answer(opinion("sync.status"))
    services = _with_model(make_services, chat_model)
    result = say(services, UNSURE, key=ConversationKey(Channel.WEBCHAT, "acme", "u2"))
    assert _first_topic(result) == "sync.status"

    [request] = chat_model.requests
    assert request.body["model"] == "fake-model"
    assert request.body["temperature"] == 0
    assert request.body["response_format"] == {"type": "json_object"}
    system, user = request.body["messages"]
    assert (system["role"], user["role"], user["content"]) == ("system", "user", UNSURE)
    assert all(topic.value in system["content"] for topic in Topic)
    assert "account_type" in system["content"] and "marketplaces" in system["content"]


def test_the_key_travels_as_a_bearer_token_and_never_reaches_the_logs(
        make_services: ServicesFactory, chat_model: FakeChatModel, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    services = _with_model(make_services, chat_model, llm_timeout_seconds=0.3)
    chat_model.answer(opinion("sync.status"), Reply(status=401, body=b'{"error": "bad key ' + KEY.encode() + b'"}'),
                      Reply(hang=True))
    for _ in range(3):
        say(services, UNSURE)
    assert [r.headers.get("Authorization") for r in chat_model.requests] == [f"Bearer {KEY}"] * 3
    assert KEY not in caplog.text
    assert KEY not in repr(services.settings) and KEY not in str(services.settings.model_dump())
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot.understanding")]
    assert ours and not any(UNSURE in line for line in ours)  # nor the customer's words


def test_a_model_slower_than_the_timeout_leaves_the_local_answer(make_services: ServicesFactory,
                                                                 chat_model: FakeChatModel) -> None:
    services = _with_model(make_services, chat_model, llm_timeout_seconds=0.3)
    chat_model.answer(Reply(opinion("sync.status").content, hang=True),
                      Reply(opinion("sync.status").content, trickle=True))  # bytes keep coming, the answer never ends
    assert _first_topic(say(services, UNSURE)) == "clarify"
    assert _first_topic(say(services, UNSURE)) == "clarify"
    assert len(chat_model.requests) == 2
    assert chat_model.finished == 0  # the bot answered before either model did


@pytest.mark.parametrize("reply", [
    Reply(status=500, body=b'{"error": "overloaded"}'),
    Reply(status=429, body=b'{"error": "rate limited"}'),
    Reply(body=b"<html>gateway error</html>"),  # not a chat completion
    Reply(body=b'{"choices": []}'),
    Reply("Sure! The customer is asking about sync status."),  # prose instead of JSON
    Reply('{"topics": ["sync.status"'),  # cut off
    Reply('["sync.status"]'),  # JSON, but not the object asked for
    opinion("sync.stuck"),  # a topic id the bot does not have
    opinion(account_type="wholesaler", agency="maybe", marketplaces="DE"),  # only slots of the wrong kind
], ids=["500", "429", "html", "no-choices", "prose", "cut-off", "array", "unknown-topic", "wrong-slots"])
def test_an_unusable_answer_leaves_the_local_answer_with_one_warning(
        make_services: ServicesFactory, chat_model: FakeChatModel, caplog: pytest.LogCaptureFixture,
        reply: Reply) -> None:
    services = _with_model(make_services, chat_model)
    chat_model.answer(reply)
    with caplog.at_level(logging.WARNING, logger="bot.understanding"):
        assert _first_topic(say(services, UNSURE)) == "clarify"
    assert len(chat_model.requests) == 1
    [warning] = [r for r in caplog.records if r.name.startswith("bot.understanding")]
    assert "the local answer stands" in warning.getMessage()


def test_failures_in_a_row_are_one_warning_until_the_model_answers_again(
        make_services: ServicesFactory, chat_model: FakeChatModel, caplog: pytest.LogCaptureFixture) -> None:
    services = _with_model(make_services, chat_model)
    chat_model.answer(Reply(status=503), Reply(status=503), Reply(status=503), opinion("sync.status"))
    with caplog.at_level(logging.INFO, logger="bot.understanding"):
        # four customers (three unread messages in one conversation would bring in a person)
        replies = [_first_topic(say(services, UNSURE, key=ConversationKey(Channel.WEBCHAT, "acme", f"u{n}")))
                   for n in range(4)]
    assert replies == ["clarify", "clarify", "clarify", "sync.status"]
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith("bot.understanding")]
    assert lines == [("WARNING", "second opinion unavailable (HTTP 503): the local answer stands"),
                     ("INFO", "second opinion answering again after 3 failed calls")]


def test_a_confident_local_answer_or_a_short_reply_is_never_sent(make_services: ServicesFactory,
                                                                chat_model: FakeChatModel) -> None:
    services = _with_model(make_services, chat_model)
    assert _first_topic(say(services, CONFIDENT)) == "connect.security"
    for short in ("yes", "idk", "done"):
        say(services, short)
    say(services, "can I talk to a person please")
    assert chat_model.requests == []


def test_it_is_off_by_default(make_services: ServicesFactory, chat_model: FakeChatModel) -> None:
    services = make_services()
    assert services.engine.second_opinion is None
    assert _first_topic(say(services, UNSURE)) == "clarify"
    assert chat_model.requests == []


def test_the_bench_scores_first_replies_with_the_second_opinion_only_when_asked(
        classifier: Classifier, chat_model: FakeChatModel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_BASE_URL", chat_model.url)
    monkeypatch.setenv("LLM_MODEL", "fake-model")
    rows: list[dict[str, object]] = [{"text": UNSURE, "topics": ["sync.status"]}]
    chat_model.answer(opinion("sync.status"))
    assert first_replies(classifier, rows).first_correct == 0  # the local figures stay local
    assert chat_model.requests == []
    assert first_replies(classifier, rows, second_opinion=True).first_correct == 1


def test_half_a_configuration_stops_the_start_naming_what_is_missing(make_services: ServicesFactory) -> None:
    with pytest.raises(StartupError, match="LLM_MODEL"):
        make_services(llm_base_url="http://127.0.0.1:9/v1")
    with pytest.raises(StartupError, match="LLM_BASE_URL"):
        make_services(llm_model="llama3", llm_api_key=KEY)
    with pytest.raises(ValueError, match="at most 10 seconds"):
        Settings(llm_timeout_seconds=60)


def test_the_conversation_is_not_locked_while_the_model_thinks(make_services: ServicesFactory,
                                                              chat_model: FakeChatModel) -> None:
    services = _with_model(make_services, chat_model, llm_timeout_seconds=10)
    chat_model.answer(Reply(opinion("sync.status").content, hang=True))
    waiting: list[TurnResult] = []
    first = threading.Thread(target=lambda: waiting.append(say(services, UNSURE)))
    first.start()
    try:
        assert chat_model.received.wait(10)  # the first message's turn is now waiting for the model
        # the same customer writes again meanwhile: the turn is not held up behind a lock
        assert _first_topic(say(services, CONFIDENT)) == "connect.security"
        assert chat_model.finished == 0
    finally:
        chat_model.release.set()
        first.join(10)
    assert [_first_topic(r) for r in waiting] == ["sync.status"]


# ---- combining the two opinions (no I/O) ------------------------------------------------------

def _local(*found: Topic, confidence: float = 0.4, slots: Slots | None = None) -> Understanding:
    return Understanding(found, confidence, slots or Slots())


_SCORES = {Topic.CONNECT_ACCOUNT_NOT_LISTED: 0.32, Topic.CLARIFY: 0.27, Topic.SYNC_STATUS: 0.09,
           Topic.BILLING: 0.01, Topic.ACCOUNT_REMOVAL: 0.005}


def test_the_models_topic_is_taken_only_when_the_local_model_found_it_plausible() -> None:
    local = _local(Topic.CLARIFY, confidence=0.32)
    assert combine(local, Opinion((Topic.SYNC_STATUS,), {}), _SCORES).topics == (Topic.SYNC_STATUS,)
    assert combine(local, Opinion((Topic.ACCOUNT_REMOVAL,), {}), _SCORES).topics == (Topic.CLARIFY,)  # not top 3
    lost = _local(Topic.CLARIFY, confidence=0.05)  # another language, garbled words: any topic of the model
    assert combine(lost, Opinion((Topic.ACCOUNT_REMOVAL,), {}), _SCORES).topics == (Topic.ACCOUNT_REMOVAL,)


def test_the_model_never_makes_the_bot_give_up_an_answer_nor_replaces_a_request_for_a_person() -> None:
    billing = _local(Topic.BILLING, confidence=0.45)
    assert combine(billing, Opinion((Topic.OFF_TOPIC,), {}), _SCORES).topics == (Topic.BILLING,)
    person = _local(Topic.HANDOFF_REQUEST, Topic.BILLING, confidence=0.3)
    assert combine(person, Opinion((Topic.SYNC_STATUS,), {}), _SCORES).topics == person.topics


def test_the_other_topics_keep_the_local_ones_then_the_models_plausible_ones() -> None:
    local = _local(Topic.CONNECT_ACCOUNT_NOT_LISTED, Topic.BILLING, confidence=0.32)
    combined = combine(local, Opinion((Topic.SYNC_STATUS, Topic.CONNECT_ACCOUNT_NOT_LISTED, Topic.ACCOUNT_REMOVAL),
                                      {}), _SCORES)
    assert combined.topics == (Topic.SYNC_STATUS, Topic.BILLING, Topic.CONNECT_ACCOUNT_NOT_LISTED)


def test_slots_from_the_model_fill_only_what_the_rules_found_nothing_for() -> None:
    rules = Slots(account_type="vendor", marketplaces=())
    merged = merge_slots(rules, {"account_type": "seller", "marketplaces": ("DE",), "agency": True})
    assert (merged.account_type, merged.marketplaces, merged.agency) == ("vendor", ("DE",), True)


def test_invalid_parts_of_an_answer_are_dropped_and_the_valid_rest_kept() -> None:
    got = parse_opinion('```json\n{"topics": ["sync.status", "sync.stuck", 7], "slots": {"account_type": "Seller",'
                        ' "marketplaces": ["de", "GB", "XX", 3], "agency": "maybe", "admin": false,'
                        ' "new_customer": null, "favourite_colour": "blue"}}\n```')
    assert got.topics == (Topic.SYNC_STATUS,)
    assert dict(got.slots) == {"account_type": "seller", "marketplaces": ("DE", "UK"), "admin": False}
    assert got.dropped == 3  # two topic ids and the agency


def test_every_topic_has_a_definition_for_the_model() -> None:
    assert set(TOPIC_GUIDE) == set(Topic)
    prompt = system_prompt()
    assert all(f"- {t.value}: {TOPIC_GUIDE[t]}" in prompt for t in Topic)


def test_the_local_model_sees_these_messages_as_the_tests_assume(classifier: Classifier) -> None:
    """When the classifier changes, this says which premise of the tests above moved."""
    unsure = classifier.understand(UNSURE)
    assert unsure.topics[0] is Topic.CLARIFY and 0.2 <= unsure.confidence < 0.6
    assert classifier.understand(CONFIDENT).confidence >= 0.6
