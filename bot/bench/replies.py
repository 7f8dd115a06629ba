"""The conversation's side of `bench understanding`: what the bot's first reply is about.

Each row is sent as the first message of a fresh conversation through `Engine.handle` on a
throw-away SQLite database (a real turn: classification, flows, rendering, the transaction).
The first message addressed to the customer must carry one of the row's topics; for a row with
several topics, each of them must appear among the customer messages of that turn.

An abstention ("is this about X, or Y?", topic `clarify`) is scored twice:
* strict: it is not about what was asked (unless the row itself is `clarify`);
* lenient: it is, when one of its two options is one of the row's topics (one click away).
Its precision is how often the reply it replaced (the same turn with abstention off) was wrong.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.amazon.links import seeded_tokens
from bot.app import Services, build_services
from bot.classify import Classifier
from bot.clock import ManualClock
from bot.config import load_settings
from bot.types import Audience, Channel, ConversationKey, Inbound, InboundKind


@dataclass(frozen=True)
class ReplyMiss:
    text: str
    expected: tuple[str, ...]
    replied: tuple[str, ...]  # the topics of the turn's customer messages, in order


@dataclass
class ReplyReport:
    rows: int = 0
    first_correct: int = 0  # the first customer message's topic is one of the row's topics (strict)
    lenient_correct: int = 0  # ... or the first reply is an abstention one of whose options is
    multi_rows: int = 0
    multi_listed: int = 0
    multi_found: int = 0  # listed topics some customer message of the turn carries
    order_rows: int = 0  # rows with >1 topic of which at least two were answered
    order_kept: int = 0  # ... whose answers came in the order the customer asked
    abstained: int = 0  # first replies that ask "is this about X, or Y?"
    abstained_hit: int = 0  # ... where X or Y is one of the row's topics
    abstained_wrong: int = 0  # ... where the reply without abstention would not have been about what was asked
    misses: list[ReplyMiss] = field(default_factory=list)  # first reply about something else
    multi_misses: list[ReplyMiss] = field(default_factory=list)  # an asked topic left unanswered

    @property
    def first_accuracy(self) -> float:
        return self.first_correct / self.rows if self.rows else 0.0

    @property
    def lenient_accuracy(self) -> float:
        return self.lenient_correct / self.rows if self.rows else 0.0

    @property
    def multi_recall(self) -> float:
        return self.multi_found / self.multi_listed if self.multi_listed else 0.0

    @property
    def order_accuracy(self) -> float:
        return self.order_kept / self.order_rows if self.order_rows else 0.0


@contextmanager
def _services(tmp: Path, name: str, classifier: Classifier, second_opinion: bool) -> Iterator[Services]:
    """With `second_opinion`, the LLM_* settings of the environment ask a language model as in service
    (bot/bench/second_opinion.py); without, they are cleared whatever the environment says."""
    off = {} if second_opinion else {"llm_base_url": None, "llm_model": None, "llm_api_key": None}
    settings = load_settings(database_url=f"sqlite:///{tmp / f'{name}.db'}", token_key_file=str(tmp / "token.key"),
                             **off)
    services = build_services(settings, clock=ManualClock(), tokens=seeded_tokens(), classifier=classifier)
    try:
        yield services
    finally:
        if services.engine.second_opinion is not None:
            services.engine.second_opinion.close()
        services.db.dispose()


def _first_turn(services: Services, n: int, text: str) -> tuple[str, ...]:
    key = ConversationKey(Channel.WEBCHAT, "bench", f"row{n}")
    result = services.engine.handle(key, Inbound(InboundKind.SAY, f"row{n}", text=text))
    return tuple(m.topic.value for m in result.messages if m.audience == Audience.CUSTOMER)


def first_replies(classifier: Classifier, rows: list[dict[str, object]],
                  guessing: Classifier | None = None, second_opinion: bool = False) -> ReplyReport:
    """Run every row as a first turn and score the topics of what the bot answered.

    `guessing`: the same model with abstention off; an abstained row is run through it too, to tell
    whether the abstention replaced a wrong answer (without it, every abstention counts as one that did).
    """
    report = ReplyReport()
    with tempfile.TemporaryDirectory() as tmp, \
            _services(Path(tmp), "replies", classifier, second_opinion) as services, \
            _services(Path(tmp), "guesses", guessing or classifier, second_opinion) as guesses:
        for n, row in enumerate(rows):
            raw = row.get("topics", [])
            expected = tuple(str(t) for t in raw) if isinstance(raw, list) else ()
            text = str(row["text"])
            replied = _first_turn(services, n, text)
            options = tuple(t.value for t in classifier.understand(text).alternatives)
            guessed = _first_turn(guesses, n, text) if options and guessing is not None else ()
            _score(report, text, expected, replied)
            _score_abstention(report, expected, replied, options, guessed)
    return report


def _score(report: ReplyReport, text: str, expected: tuple[str, ...], replied: tuple[str, ...]) -> None:
    report.rows += 1
    if replied and replied[0] in expected:
        report.first_correct += 1
    else:
        report.misses.append(ReplyMiss(text, expected, replied))
    if len(expected) > 1:
        found = sum(1 for t in expected if t in replied)
        report.multi_rows += 1
        report.multi_listed += len(expected)
        report.multi_found += found
        if found < len(expected):
            report.multi_misses.append(ReplyMiss(text, expected, replied))
        answered = [t for t in expected if t in replied]
        if len(answered) >= 2:
            report.order_rows += 1
            report.order_kept += kept_order(answered, replied)


def _score_abstention(report: ReplyReport, expected: tuple[str, ...], replied: tuple[str, ...],
                      options: tuple[str, ...], guessed: tuple[str, ...]) -> None:
    correct = bool(replied) and replied[0] in expected
    if not (options and replied and replied[0] == "clarify"):  # the turn did not ask "X, or Y?"
        report.lenient_correct += correct
        return
    hit = any(o in expected for o in options)
    report.abstained += 1
    report.abstained_hit += hit
    report.abstained_wrong += not (guessed and guessed[0] in expected)
    report.lenient_correct += hit or correct


def kept_order(asked: list[str], said: tuple[str, ...]) -> bool:
    """Whether the topics of `asked` first appear in `said` in the order they were asked."""
    first = [said.index(t) for t in asked]
    return first == sorted(first)
