"""The conversation's side of `bench understanding`: what the bot's first reply is about.

Each row is sent as the first message of a fresh conversation through `Engine.handle` on a
throw-away SQLite database (a real turn: classification, flows, rendering, the transaction).
The first message addressed to the customer must carry one of the row's topics; for a row with
several topics, each of them must appear among the customer messages of that turn.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bot.amazon.links import seeded_tokens
from bot.app import build_services
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
    first_correct: int = 0  # the first customer message's topic is one of the row's topics
    multi_rows: int = 0
    multi_listed: int = 0
    multi_found: int = 0  # listed topics some customer message of the turn carries
    misses: list[ReplyMiss] = field(default_factory=list)  # first reply about something else
    multi_misses: list[ReplyMiss] = field(default_factory=list)  # an asked topic left unanswered

    @property
    def first_accuracy(self) -> float:
        return self.first_correct / self.rows if self.rows else 0.0

    @property
    def multi_recall(self) -> float:
        return self.multi_found / self.multi_listed if self.multi_listed else 0.0


def first_replies(classifier: Classifier, rows: list[dict[str, object]], second_opinion: bool = False) -> ReplyReport:
    """Run every row as a first turn and score the topics of what the bot answered; with `second_opinion`,
    the LLM_* settings of the environment ask a language model as in service (bot/bench/second_opinion.py)."""
    report = ReplyReport()
    with tempfile.TemporaryDirectory() as tmp:
        off = {} if second_opinion else {"llm_base_url": None, "llm_model": None, "llm_api_key": None}
        settings = load_settings(database_url=f"sqlite:///{Path(tmp) / 'replies.db'}",
                                 token_key_file=str(Path(tmp) / "token.key"), **off)
        services = build_services(settings, clock=ManualClock(), tokens=seeded_tokens(), classifier=classifier)
        try:
            for n, row in enumerate(rows):
                raw = row.get("topics", [])
                expected = tuple(str(t) for t in raw) if isinstance(raw, list) else ()
                key = ConversationKey(Channel.WEBCHAT, "bench", f"row{n}")
                result = services.engine.handle(key, Inbound(InboundKind.SAY, f"row{n}", text=str(row["text"])))
                replied = tuple(m.topic.value for m in result.messages if m.audience == Audience.CUSTOMER)
                _score(report, str(row["text"]), expected, replied)
        finally:
            if services.engine.second_opinion is not None:
                services.engine.second_opinion.close()
            services.db.dispose()
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
