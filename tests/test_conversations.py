"""Scripted customer journeys: every tests/conversations/*.jsonl, run in-process, checked line by line.

A journey file holds chat-jsonl protocol lines (README.md, "Scripted conversations") and, after any of them,
assertion lines `{"expect": {...}}` that are not sent to the bot; each applies to the output of the
closest preceding protocol line. See tests/conversations/README.md for the keys.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.amazon.links import seeded_tokens
from bot.app import build_services
from bot.channels.jsonl import ScriptRun
from bot.classify import Classifier, default_phrasings_dir
from bot.clock import ManualClock
from bot.config import load_settings
from bot.runner import Runner

CONVERSATIONS = Path(__file__).parent / "conversations"
JOURNEYS = sorted(CONVERSATIONS.glob("*.jsonl"))

# Journeys that fail because of a bot bug, with what is wrong. The expectations stay what a customer
# would want; strict xfail makes the run fail once the bug is fixed, so the entry gets removed then.
BUG_REASONS: dict[str, str] = {}
KNOWN_BUGS: frozenset[str] = frozenset(BUG_REASONS)

# Journeys of a feature that is off by default, with the ABSTAIN_MARGIN a deployment would set to turn it on.
ABSTAIN_MARGIN_OF: dict[str, float] = {"which_of_two_close_topics": 0.35}

EXPECT_KEYS = frozenset({"topic", "topics", "audience", "case", "link_region", "link_count", "text",
                         "choices_include", "no_messages", "error", "conversation", "not_topic",
                         "topics_in_order", "first_topic"})


@dataclass
class Expectation:
    line: int  # 1-based number of the protocol line it applies to, among the lines fed
    source: int  # its own line number in the journey file
    checks: dict[str, Any]


@dataclass
class Journey:
    protocol: list[str] = field(default_factory=list)
    expectations: list[Expectation] = field(default_factory=list)


def parse_journey(path: Path) -> Journey:
    """Split a journey file into the protocol lines fed to the bot and the expectations on them."""
    journey = Journey()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError:
            item = None  # malformed on purpose: a protocol line the bot must refuse
        if isinstance(item, dict) and set(item) == {"expect"}:
            checks = item["expect"]
            where = f"{path.name}:{number}"
            if not journey.protocol:
                raise ValueError(f"{where}: an expect line must follow a protocol line")
            if not isinstance(checks, dict) or not checks:
                raise ValueError(f"{where}: expect takes a non-empty object")
            unknown = set(checks) - EXPECT_KEYS
            if unknown:
                raise ValueError(f"{where}: unknown expect keys {sorted(unknown)}; known: {sorted(EXPECT_KEYS)}")
            journey.expectations.append(Expectation(len(journey.protocol), number, checks))
        else:
            journey.protocol.append(raw)
    return journey


# ---- checks: each returns None when it holds, else what is wrong -------------------------------

Messages = list[dict[str, Any]]


def _topic(msgs: Messages, want: Any) -> str | None:
    return None if any(m.get("topic") == want for m in msgs) else f"no message has topic {want!r}"


def _not_topic(msgs: Messages, want: Any) -> str | None:
    return f"a message has topic {want!r}" if any(m.get("topic") == want for m in msgs) else None


def _topics(msgs: Messages, want: Any) -> str | None:
    seen = {m.get("topic") for m in msgs}
    missing = [t for t in want if t not in seen]
    return f"topics {missing} missing" if missing else None


def _topics_in_order(msgs: Messages, want: Any) -> str | None:
    """Each of these topics is answered, and the first customer message of each comes in this order."""
    said = [m.get("topic") for m in msgs if m.get("audience") == "customer"]
    missing = [t for t in want if t not in said]
    if missing:
        return f"topics {missing} missing"
    first = [said.index(t) for t in want]
    return None if first == sorted(first) else f"answered in the order {said}, not {list(want)}"


def _first_topic(msgs: Messages, want: Any) -> str | None:
    """The first message the customer reads answers this: what the bot is measured on."""
    said = [m.get("topic") for m in msgs if m.get("audience") == "customer"]
    return None if said[:1] == [want] else f"the first customer message is about {said[:1] or 'nothing'}, not {want!r}"


def _audience(msgs: Messages, want: Any) -> str | None:
    return None if any(m.get("audience") == want for m in msgs) else f"no message goes to {want!r}"


def _case(msgs: Messages, want: Any) -> str | None:
    for m in msgs:
        case = m.get("case") or {}
        if all(case.get(k) == v for k, v in want.items()):
            return None
    return f"no message carries a case with {want}"


def _links(msgs: Messages) -> list[dict[str, Any]]:
    return [link for m in msgs for link in m.get("links", [])]


def _link_region(msgs: Messages, want: Any) -> str | None:
    return None if any(li.get("region") == want for li in _links(msgs)) else f"no link for region {want!r}"


def _link_count(msgs: Messages, want: Any) -> str | None:
    got = len(_links(msgs))
    return None if got == want else f"{got} links, expected {want}"


def _text(msgs: Messages, want: Any) -> str | None:
    needle = str(want).casefold()
    if any(needle in str(m.get("text", "")).casefold() for m in msgs):
        return None
    return f"no message text contains {want!r}"


def _choices_include(msgs: Messages, want: Any) -> str | None:
    customer = [m for m in msgs if m.get("audience") == "customer"]
    if not customer:
        return f"no customer message to offer {want!r}"
    offered = customer[-1].get("choices", [])
    if str(want).casefold() in (str(c).casefold() for c in offered):
        return None
    return f"the last customer message offers {offered}, not {want!r}"


def _conversation(msgs: Messages, want: Any) -> str | None:
    return None if any(m.get("conversation") == want for m in msgs) else f"no message in conversation {want!r}"


MESSAGE_CHECKS: dict[str, Callable[[Messages, Any], str | None]] = {
    "topic": _topic, "not_topic": _not_topic, "topics": _topics, "topics_in_order": _topics_in_order,
    "first_topic": _first_topic,
    "audience": _audience, "case": _case,
    "link_region": _link_region, "link_count": _link_count, "text": _text, "choices_include": _choices_include,
    "conversation": _conversation,
}


def check(expectation: Expectation, msgs: Messages, errors: Messages) -> list[str]:
    """What does not hold of one expectation over the output of its line."""
    problems: list[str] = []
    for key, want in expectation.checks.items():
        if key == "error":
            if bool(want) != bool(errors):
                problems.append("the line was not refused" if want else "the line was refused")
        elif key == "no_messages":
            if bool(want) and (msgs or errors):
                problems.append(f"expected no message, got {len(msgs)} (and {len(errors)} errors)")
            if not want and not msgs:
                problems.append("expected at least one message, got none")
        else:
            problem = MESSAGE_CHECKS[key](msgs, want)
            if problem:
                problems.append(problem)
    return problems


def show(line: int, protocol: list[str], msgs: Messages, errors: Messages) -> str:
    """A line's input and everything the bot printed for it, for failure messages."""
    out = [f"  line {line} input: {protocol[line - 1]}"]
    for e in errors:
        out.append(f"    ERROR: {e.get('error')}")
    for m in msgs:
        text = " ".join(str(m.get("text", "")).split())
        extras = []
        if m.get("choices"):
            extras.append(f"choices={m['choices']}")
        if m.get("links"):
            extras.append("links=" + ",".join(str(li.get("region")) for li in m["links"]))
        if m.get("case"):
            extras.append(f"case={m['case']}")
        out.append(f"    [{m.get('audience')}] {m.get('topic')} {m.get('conversation')}: "
                   f"{text[:200]}{'...' if len(text) > 200 else ''} {' '.join(extras)}".rstrip())
    if not msgs and not errors:
        out.append("    (no messages)")
    return "\n".join(out)


# ---- running --------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier(default_phrasings_dir())


@pytest.fixture(scope="session")
def abstaining() -> dict[float, Classifier]:
    return {margin: Classifier(default_phrasings_dir(), abstain_margin=margin)
            for margin in set(ABSTAIN_MARGIN_OF.values())}


def run_journey(protocol: list[str], classifier: Classifier, runner: Runner, tmp_path: Path) -> tuple[int, Messages]:
    # The runner (templates, knowledge, flow checks: a third of a second) is the session's: journeys run
    # on the default settings, which are what it was built from.
    services = build_services(load_settings(database_url=f"sqlite:///{tmp_path / 'c.db'}",
                                            token_key_file=str(tmp_path / "token.key")),
                              clock=ManualClock(), tokens=seeded_tokens(), classifier=classifier, runner=runner)
    out = io.StringIO()
    try:
        code = ScriptRun(services, out).feed(protocol)
    finally:
        services.db.dispose()
    printed: Messages = [json.loads(raw) for raw in out.getvalue().splitlines() if raw.strip()]
    return code, printed


def _params() -> Iterator[Any]:
    for path in JOURNEYS:
        marks = []
        if path.stem in KNOWN_BUGS:
            marks.append(pytest.mark.xfail(strict=True, reason=f"bot bug: {BUG_REASONS[path.stem]}"))
        yield pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", list(_params()))
def test_journey(path: Path, classifier: Classifier, abstaining: dict[float, Classifier], runner: Runner,
                 tmp_path: Path) -> None:
    journey = parse_journey(path)
    if path.stem in ABSTAIN_MARGIN_OF:
        classifier = abstaining[ABSTAIN_MARGIN_OF[path.stem]]
    code, printed = run_journey(journey.protocol, classifier, runner, tmp_path)
    by_line: dict[int, Messages] = {}
    errors_by_line: dict[int, Messages] = {}
    for obj in printed:
        target = errors_by_line if "error" in obj else by_line
        target.setdefault(int(obj["line"]), []).append(obj)

    failures: list[str] = []
    expected_errors = {e.line for e in journey.expectations if e.checks.get("error") is True}
    for line in sorted(set(errors_by_line) - expected_errors):
        failures.append(f"{path.name}: line {line} was refused unexpectedly\n"
                        + show(line, journey.protocol, by_line.get(line, []), errors_by_line[line]))
    for exp in journey.expectations:
        msgs, errors = by_line.get(exp.line, []), errors_by_line.get(exp.line, [])
        problems = check(exp, msgs, errors)
        if problems:
            failures.append(f"{path.name}:{exp.source} expect {json.dumps(exp.checks)}: {'; '.join(problems)}\n"
                            + show(exp.line, journey.protocol, msgs, errors))
    allowed = {0, 2} if expected_errors else {0}
    if code not in allowed:
        failures.append(f"{path.name}: exit status {code}, expected {sorted(allowed)}")
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


def test_every_journey_has_expectations() -> None:
    empty = [p.name for p in JOURNEYS if not parse_journey(p).expectations]
    assert JOURNEYS, f"no journeys found in {CONVERSATIONS}"
    assert not empty, f"journeys without any expect line: {empty}"


def test_known_bugs_name_existing_journeys() -> None:
    stems = {p.stem for p in JOURNEYS}
    assert not set(ABSTAIN_MARGIN_OF) - stems, "ABSTAIN_MARGIN_OF names journeys that do not exist"
    stale = sorted(KNOWN_BUGS - stems)
    assert not stale, f"KNOWN_BUGS names journeys that do not exist: {stale}"
