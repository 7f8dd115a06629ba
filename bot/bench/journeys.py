"""`python -m bot bench journeys FILE`: whole conversations, scored by the topic of each reply's first message.

Each line of FILE is a journey written by someone outside the team:
`{"id": "j1", "steps": [{"say": "..."}, {"say": "...", "expect": "sync.status"}, {"amazon": {...}}, ...]}`.
Steps are `python -m bot chat --jsonl` lines (say, click, amazon, advance, sync, ...); a step with
`expect` names the topic the first customer message answering it should carry: the customer's
question mid-flow answered before anything else. Every journey runs as a fresh conversation through
the scripted runner on a throw-away SQLite database (real turns: classification, flows, the Amazon
stand-in, timers on the scripted clock).

Prints the share of expected steps whose first reply is on topic, per journey step kind (the
opening message or later in the flow), refused lines (a journey that assumed something the bot did
not offer), and every miss with what the bot said first.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.amazon.links import seeded_tokens
from bot.app import build_services
from bot.channels.jsonl import ScriptRun
from bot.classify import Classifier, default_phrasings_dir
from bot.clock import ManualClock
from bot.config import load_settings


@dataclass(frozen=True)
class StepMiss:
    journey: str
    text: str
    expected: str
    replied: tuple[str, ...]


@dataclass
class JourneyReport:
    journeys: int = 0
    expected: int = 0
    correct: int = 0
    opening_expected: int = 0
    opening_correct: int = 0
    refused: int = 0  # input lines the bot refused (not scored, but counted)
    misses: list[StepMiss] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.expected if self.expected else 0.0

    @property
    def later(self) -> tuple[int, int]:
        return self.correct - self.opening_correct, self.expected - self.opening_expected


def _protocol(journey: dict[str, Any]) -> tuple[list[str], dict[int, tuple[str, str]]]:
    """The journey's chat lines, and for each expected line (1-based) its (topic, text)."""
    lines = [json.dumps({"user": {"id": str(journey.get("id", "j")), "org": "bench", "channel": "webchat"}})]
    expected: dict[int, tuple[str, str]] = {}
    for step in journey.get("steps", []):
        line = {k: v for k, v in step.items() if k != "expect"}
        lines.append(json.dumps(line))
        if "expect" in step:
            expected[len(lines)] = (str(step["expect"]), str(step.get("say", "")))
    return lines, expected


def run(classifier: Classifier, journeys: list[dict[str, Any]]) -> JourneyReport:
    report = JourneyReport()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(database_url=f"sqlite:///{Path(tmp) / 'journeys.db'}",
                                 token_key_file=str(Path(tmp) / "token.key"),
                                 llm_base_url=None, llm_model=None, llm_api_key=None)
        services = build_services(settings, clock=ManualClock(), tokens=seeded_tokens(), classifier=classifier)
        try:
            for journey in journeys:
                _score(report, services, journey)
        finally:
            services.db.dispose()
    return report


def _score(report: JourneyReport, services: Any, journey: dict[str, Any]) -> None:
    lines, expected = _protocol(journey)
    out = io.StringIO()
    ScriptRun(services, out).feed(lines)
    printed = [json.loads(raw) for raw in out.getvalue().splitlines() if raw.strip()]
    report.journeys += 1
    report.refused += sum(1 for p in printed if "error" in p)
    first_say = min((n for n, line in enumerate(lines, 1) if '"say"' in line), default=0)
    for number, (topic, text) in expected.items():
        replied = tuple(str(p["topic"]) for p in printed
                        if p.get("line") == number and p.get("audience") == "customer")
        right = replied[:1] == (topic,)
        report.expected += 1
        report.correct += right
        if number == first_say:
            report.opening_expected += 1
            report.opening_correct += right
        if not right:
            report.misses.append(StepMiss(str(journey.get("id", "?")), text, topic, replied))


def _print(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def main(path: Path) -> int:
    journeys = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = run(Classifier(default_phrasings_dir()), journeys)
    later_right, later_all = report.later
    _print(f"journeys                  {report.journeys}")
    _print(f"  replies on topic        {report.accuracy:.1%}  ({report.correct} of {report.expected} expected steps:"
           " the first customer message of the reply carries the expected topic)")
    if report.opening_expected:
        _print(f"  opening messages        {report.opening_correct / report.opening_expected:.1%}"
               f"  ({report.opening_correct} of {report.opening_expected})")
    if later_all:
        _print(f"  later in the flow       {later_right / later_all:.1%}  ({later_right} of {later_all})")
    _print(f"  refused lines           {report.refused}  (steps the journey assumed and the bot did not accept)")
    _print()
    _print(f"misses ({len(report.misses)})")
    for miss in report.misses:
        _print(f"  {miss.journey}: {miss.text[:70]!r}")
        _print(f"      expected {miss.expected}  replied {', '.join(miss.replied) or '(nothing)'}")
    return 0
