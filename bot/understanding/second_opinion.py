"""A language model's second opinion on a message the local model is unsure of (off unless LLM_BASE_URL is set).

The local classifier answers every message; only when it is unsure (`SecondOpinion.unsure`) is the
message also sent to an OpenAI-compatible chat-completions endpoint (`chat_client.py`), which
names topics and slots as JSON. That JSON is checked here: unknown topic ids and invalid slot
values are dropped, the valid rest is kept. Any failure (timeout, an HTTP error, an answer that is
not JSON of the asked shape) leaves the local answer as it was, with one warning in the log.

The model never writes what the customer reads: it only picks among the topics, and the flows,
templates and articles answer as they would have for the local model's pick.

How the two opinions combine (`combine`):

* The model's main topic replaces the local one only when the local model found it plausible: it
  is among the local model's three likeliest topics for the message, or among the topics the local
  model found in the message's clauses. When the local model is lost (its confidence under
  `ANY_TOPIC_BELOW`: another language, garbled words) any topic of the model is taken. So a model
  that misreads a message can only move the answer to a topic the local model itself considered.
* "clarify" and "off_topic" from the model never replace a local answer: the second opinion may
  help the bot answer, never make it give up on an answer.
* A request for a person found by the local model is never replaced (and is not sent at all).
* The other topics: the local model's further topics, then the model's further plausible ones.
* Slots: the rule-based slots win; a slot the rules found nothing for takes the model's value.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from bot.types import Topic
from bot.understanding.chat_client import ChatClient, ChatUnavailable
from bot.understanding.classifier import Understanding
from bot.understanding.markets import CODES
from bot.understanding.slots import Slots
from bot.understanding.text import clean, normalize
from bot.understanding.topic_guide import SLOT_GUIDE, system_prompt

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

CONSULT_BELOW: Final = 0.6  # default of LLM_CONSULT_BELOW: on the tuning sets, ~10% of first messages, half the misses
TOP_K: Final = 3  # the model's topic must be among the local model's likeliest this many ...
ANY_TOPIC_BELOW: Final = 0.2  # ... unless the local model's confidence is under this
_VAGUE: Final = frozenset({Topic.CLARIFY, Topic.OFF_TOPIC})
_SHORT_WORDS, _SHORT_CHARS = 3, 12  # "done", "they did it", "idk": read by the step in context, not sent


class Scores(Protocol):
    """What the second opinion needs of the local classifier: its topics and their probabilities."""

    @property
    def topics(self) -> tuple[Topic, ...]: ...

    def probabilities(self, text: str) -> NDArray[np.float64]: ...


@dataclass(frozen=True)
class Opinion:
    """The model's answer after checking: known topics only, valid slot values only."""

    topics: tuple[Topic, ...]
    slots: Mapping[str, object]
    dropped: int = 0  # topic ids and slot values refused


@dataclass
class Stats:
    consulted: int = 0  # messages sent to the model
    answered: int = 0  # ... that came back usable
    changed: int = 0  # ... that changed the main topic
    failed: int = 0  # ... that fell back to the local answer


class SecondOpinion:
    """Asks the model about the messages the local classifier is unsure of, and combines both answers."""

    def __init__(self, client: ChatClient, scores: Scores, consult_below: float = CONSULT_BELOW) -> None:
        self.client = client
        self.scores = scores
        self.consult_below = consult_below
        self.prompt = system_prompt()
        self.stats = Stats()
        self._lock = threading.Lock()
        self._failing = 0  # failures in a row: the first is a warning, the rest wait for the recovery line

    def unsure(self, text: str, local: Understanding) -> bool:
        """Whether to ask the model: the local answer is weak, the message is more than a short answer,
        and it is not a request for a person (which is answered at once, whatever else it says)."""
        if local.topics[0] is Topic.HANDOFF_REQUEST or local.confidence >= self.consult_below:
            return False
        words = len(text.split())
        if words < _SHORT_WORDS and len(text.strip()) < _SHORT_CHARS:
            return False
        return not (local.slots.yes_no is not None and words <= 4)

    def review(self, text: str, local: Understanding) -> Understanding:
        """The local answer, or, when it is unsure and the model answers in time, both combined."""
        if not self.unsure(text, local):
            return local
        self._count("consulted")
        try:
            opinion = parse_opinion(self.client.complete(self.prompt, text))
        except ChatUnavailable as exc:
            self._failed(str(exc))
            return local
        self._answered(opinion)
        combined = combine(local, opinion, self._local_scores(text))
        if combined.topics[0] is not local.topics[0]:
            self._count("changed")
        return combined

    def close(self) -> None:
        self.client.close()

    def _local_scores(self, text: str) -> dict[Topic, float]:
        probs = self.scores.probabilities(normalize(clean(text)[0]))
        return {topic: float(p) for topic, p in zip(self.scores.topics, probs, strict=True)}

    def _count(self, name: Literal["consulted", "answered", "changed", "failed"]) -> None:
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)

    def _failed(self, reason: str) -> None:
        with self._lock:
            self.stats.failed += 1
            self._failing += 1
            first = self._failing == 1
        # Only the reason: never the customer's words or the key. A run of failures is one warning.
        if first:
            log.warning("second opinion unavailable (%s): the local answer stands", reason)
        else:
            log.debug("second opinion unavailable (%s), %d in a row", reason, self._failing)

    def _answered(self, opinion: Opinion) -> None:
        with self._lock:
            self.stats.answered += 1
            failing, self._failing = self._failing, 0
        if failing:
            log.info("second opinion answering again after %d failed calls", failing)
        if opinion.dropped:
            log.debug("second opinion: %d topic ids or slot values refused", opinion.dropped)


def combine(local: Understanding, opinion: Opinion, scores: Mapping[Topic, float]) -> Understanding:
    """Both opinions as one (the rules are in the module docstring). `scores`: the local model's
    probability of each topic for the whole message."""
    likeliest = sorted(scores, key=lambda t: scores[t], reverse=True)[:TOP_K]
    plausible = {*likeliest, *local.topics}
    lost = local.confidence < ANY_TOPIC_BELOW

    def accepted(topic: Topic) -> bool:
        return topic not in _VAGUE and (lost or topic in plausible)

    slots = merge_slots(local.slots, opinion.slots)
    if local.topics[0] is Topic.HANDOFF_REQUEST or not opinion.topics or not accepted(opinion.topics[0]):
        return dataclasses.replace(local, slots=slots)
    main = opinion.topics[0]
    rest = [t for t in local.topics[1:] if t not in _VAGUE] + [t for t in opinion.topics[1:] if accepted(t)]
    topics = tuple(dict.fromkeys([main, *rest]))
    confidence = local.confidence if main is local.topics[0] else scores.get(main, local.confidence)
    return Understanding(topics, confidence, slots)


def merge_slots(rules: Slots, model: Mapping[str, object]) -> Slots:
    """The rules' slots, with the model's value wherever the rules found nothing."""
    found = {name: value for name, value in model.items() if getattr(rules, name) in (None, ())}
    return dataclasses.replace(rules, **found) if found else rules  # type: ignore[arg-type]


# ---- checking the model's answer ---------------------------------------------------------------

_FENCE: Final = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL | re.IGNORECASE)
_TOPIC_IDS: Final = frozenset(t.value for t in Topic)
_ACCOUNT_TYPE: Final = TypeAdapter(Literal["vendor", "seller", "both"])
_FLAG: Final = TypeAdapter(bool)  # true/false; also "yes"/"no", as models like to write
_CODE_ALIASES: Final = {"GB": "UK"}  # ISO's code for the United Kingdom; Amazon's (and ours) is UK


class _Answer(BaseModel):
    """The JSON object asked for; its parts are checked one by one, so one bad part spoils only itself."""

    model_config = ConfigDict(extra="ignore")

    topics: list[object] | str = []
    slots: dict[str, object] = {}


def parse_opinion(content: str) -> Opinion:
    """The model's message content as an `Opinion`, or `ChatUnavailable` when nothing in it is usable."""
    text = content.strip()
    fenced = _FENCE.search(text)  # servers that ignore response_format often wrap the JSON in a code fence
    if fenced and not text.startswith("{"):
        text = fenced.group(1)
    try:
        answer = _Answer.model_validate(json.loads(text))
    except (ValueError, ValidationError):
        raise ChatUnavailable("the answer is not a JSON object of the asked shape") from None
    raw_topics: Sequence[object] = [answer.topics] if isinstance(answer.topics, str) else answer.topics
    topics = tuple(dict.fromkeys(Topic(t) for t in raw_topics if isinstance(t, str) and t in _TOPIC_IDS))
    slots: dict[str, object] = {}
    refused = 0
    for name, value in answer.slots.items():
        if name not in SLOT_GUIDE or value is None:
            continue
        checked = _slot_value(name, value)
        if checked is None:
            refused += 1
        else:
            slots[name] = checked
    dropped = refused + len(raw_topics) - len(topics)
    if not topics and not slots:
        raise ChatUnavailable("the answer names no known topic or valid slot")
    return Opinion(topics, slots, dropped)


def _slot_value(name: str, value: object) -> object | None:
    """The slot value in the shape `Slots` holds it, or None when it is not one of the allowed values."""
    try:
        if name == "account_type":
            return _ACCOUNT_TYPE.validate_python(value.lower() if isinstance(value, str) else value)
        if name == "marketplaces":
            if not isinstance(value, list):
                return None
            codes = [_CODE_ALIASES.get(c.strip().upper(), c.strip().upper()) for c in value if isinstance(c, str)]
            known = tuple(dict.fromkeys(c for c in codes if c in CODES))
            return known or None
        return _FLAG.validate_python(value)
    except ValidationError:
        return None


# ---- wiring ------------------------------------------------------------------------------------

def missing_settings(settings: Settings) -> str:
    """Why the LLM_* settings cannot work, or "" (also when they are all unset: the second opinion is off)."""
    if not settings.llm_base_url:
        if settings.llm_model or settings.llm_api_key:
            return "LLM_MODEL or LLM_API_KEY is set without LLM_BASE_URL: set it too, or unset them"
        return ""
    if not settings.llm_base_url.startswith(("http://", "https://")):
        return "LLM_BASE_URL must be an http:// or https:// URL (the part before /chat/completions)"
    if not settings.llm_model:
        return "LLM_BASE_URL is set but LLM_MODEL is not: name the model the endpoint serves"
    return ""


def second_opinion_for(settings: Settings, scores: Scores) -> SecondOpinion | None:
    """The second opinion the settings ask for; None (off) unless LLM_BASE_URL is set."""
    problem = missing_settings(settings)
    if problem:
        raise ValueError(problem)
    if not settings.llm_base_url or not settings.llm_model:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    client = ChatClient(settings.llm_base_url, settings.llm_model, key, settings.llm_timeout_seconds)
    return SecondOpinion(client, scores, settings.llm_consult_below)
