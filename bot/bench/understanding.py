"""Measure the classifier, and the conversation, on a labelled JSONL file.

    python -m bot.bench.understanding rows.jsonl       # classifier and first-reply accuracy, misses, latency
    python -m bot.bench.understanding --tune [TUNING.jsonl]   # cross-validate the phrasings, pick CLARIFY_BELOW
                                                              # and ABSTAIN_MARGIN (with the tuning half's rows)

Each row: {"text": str, "topics": [ids, first is primary], "slots": {...optional}}.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.bench import second_opinion
from bot.bench.figures import elapsed, nearest_rank
from bot.bench.replies import ReplyMiss, ReplyReport, first_replies, kept_order
from bot.classify import ABSTAIN_MARGIN, CLARIFY_BELOW, Classifier, Understanding, default_phrasings_dir, read_phrasings
from bot.types import Topic

SLOT_NAMES = ("account_type", "agency", "marketplaces", "yes_no", "error_codes", "new_customer")


@dataclass(frozen=True)
class Miss:
    text: str
    expected: tuple[str, ...]
    got: tuple[str, ...]
    confidence: float


@dataclass
class EvalReport:
    rows: int = 0
    first_correct: int = 0  # prediction.topics[0] is one of the row's topics
    primary_correct: int = 0  # prediction.topics[0] == the row's first topic
    multi_rows: int = 0
    multi_listed: int = 0
    multi_found: int = 0
    order_rows: int = 0  # rows with >1 topic of which the classifier found at least two
    order_kept: int = 0  # ... listed by `in_asked_order` in the order the customer asked
    slot_total: dict[str, int] = field(default_factory=dict)
    slot_correct: dict[str, int] = field(default_factory=dict)
    per_topic_total: dict[str, int] = field(default_factory=dict)
    per_topic_correct: dict[str, int] = field(default_factory=dict)
    misses: list[Miss] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # the thread's CPU time: the work, without waiting for a core
    startup_s: float = 0.0  # building the Classifier: a cached model loaded, or trained first
    model_source: str = ""

    @property
    def first_accuracy(self) -> float:
        return self.first_correct / self.rows if self.rows else 0.0

    @property
    def primary_accuracy(self) -> float:
        return self.primary_correct / self.rows if self.rows else 0.0

    @property
    def multi_recall(self) -> float:
        return self.multi_found / self.multi_listed if self.multi_listed else 0.0

    def slot_accuracy(self, name: str) -> float:
        total = self.slot_total.get(name, 0)
        return self.slot_correct.get(name, 0) / total if total else 0.0

    def latency_ms(self, quantile: float) -> float:
        return nearest_rank(self.latencies_ms, quantile)


def _slot_value(understanding: Understanding, name: str) -> object:
    value: object = getattr(understanding.slots, name)
    return list(value) if isinstance(value, tuple) else value


def evaluate(classifier: Classifier, rows: list[dict[str, object]]) -> EvalReport:
    """Score `classifier` on labelled rows (see the module docstring for the row shape)."""
    report = EvalReport()
    for row in rows:
        text = str(row["text"])
        raw_topics = row.get("topics", [])
        expected = tuple(str(t) for t in raw_topics) if isinstance(raw_topics, list) else ()
        start, cpu = time.perf_counter(), time.thread_time()
        got = classifier.understand(text)
        report.latencies_ms.append(elapsed(start) * 1000.0)
        report.cpu_ms.append((time.thread_time() - cpu) * 1000.0)
        predicted = tuple(t.value for t in got.topics)
        report.rows += 1
        primary = expected[0] if expected else ""
        report.per_topic_total[primary] = report.per_topic_total.get(primary, 0) + 1
        if predicted[0] in expected:
            report.first_correct += 1
        else:
            report.misses.append(Miss(text, expected, predicted, got.confidence))
        if predicted[0] == primary:
            report.primary_correct += 1
            report.per_topic_correct[primary] = report.per_topic_correct.get(primary, 0) + 1
        if len(expected) > 1:
            report.multi_rows += 1
            report.multi_listed += len(expected)
            report.multi_found += sum(1 for t in expected if t in predicted)
            found = [t for t in expected if t in predicted]
            if len(found) >= 2:
                report.order_rows += 1
                report.order_kept += kept_order(found, tuple(t.value for t in got.in_asked_order))
        slots = row.get("slots")
        if isinstance(slots, dict):
            for name in SLOT_NAMES:
                if name in slots:
                    report.slot_total[name] = report.slot_total.get(name, 0) + 1
                    if _slot_value(got, name) == slots[name]:
                        report.slot_correct[name] = report.slot_correct.get(name, 0) + 1
    report.misses.sort(key=lambda m: -m.confidence)
    return report


def _load(path: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if isinstance(row, dict):
                rows.append(row)
    return rows


def _print(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def render(report: EvalReport, replies: ReplyReport | None = None) -> None:
    _print(f"rows                      {report.rows}")
    _print("classifier")
    _print(f"  first-message accuracy  {report.first_accuracy:.1%}  (topics[0] is one of the row's topics)")
    _print(f"  primary accuracy        {report.primary_accuracy:.1%}  (topics[0] == the row's first topic)")
    _print(f"  multi-question recall   {report.multi_recall:.1%}  over {report.multi_rows} rows with >1 topic")
    _print(f"  order asked             {_share(report.order_kept, report.order_rows)}  of {report.order_rows} rows"
           " with >1 topic found (their order in `in_asked_order` is the row's)")
    if replies is not None:
        _print("the bot's first reply (each row a first turn through the engine)")
        _print(f"  first reply accuracy    {replies.first_accuracy:.1%}  strict (the first customer message's topic"
               " is one of the row's topics; an abstention counts as wrong)")
        _print(f"                          {replies.lenient_accuracy:.1%}  lenient (an abstention counts as right when"
               " one of its two options is one of the row's topics)")
        _print(f"  abstentions             {_share(replies.abstained, replies.rows)}  ({replies.abstained} rows"
               f" asked \"is this about X, or Y?\"); precision {_share(replies.abstained_wrong, replies.abstained)}"
               " (the reply it replaced was wrong);"
               f" options hold the topic {_share(replies.abstained_hit, replies.abstained)}")
        _print(f"  multi-question recall   {replies.multi_recall:.1%}  over {replies.multi_rows} rows with >1 topic"
               " (every asked topic among the turn's messages)")
        _print(f"  answered in order asked {_share(replies.order_kept, replies.order_rows)}  of {replies.order_rows}"
               " rows with >1 topic answered (first answers to each come in the row's order)")
    _print()
    _print("slot accuracy")
    for name in SLOT_NAMES:
        if report.slot_total.get(name):
            _print(f"  {name:<14} {report.slot_accuracy(name):6.1%}  of {report.slot_total[name]}")
    _print()
    _print("per-topic primary accuracy")
    for topic in sorted(report.per_topic_total):
        total = report.per_topic_total[topic]
        correct = report.per_topic_correct.get(topic, 0)
        _print(f"  {topic:<30} {correct:>3}/{total:<3} {correct / total:6.1%}")
    _print()
    _print(f"worst misses ({min(15, len(report.misses))} of {len(report.misses)}, most confident first)")
    for miss in report.misses[:15]:
        _print(f"  {miss.text[:70]!r}")
        _print(f"      expected {', '.join(miss.expected)}  got {', '.join(miss.got)} ({miss.confidence:.2f})")
    if replies is not None:
        _reply_misses("worst first replies", replies.misses)
        _reply_misses("multi-question misses", replies.multi_misses)
    _print()
    _print(f"understand() latency      p50 {report.latency_ms(0.50):.3f} ms  p99 {report.latency_ms(0.99):.3f} ms")
    _print(f"understand() CPU time     p50 {nearest_rank(report.cpu_ms, 0.50):.3f} ms  "
           f"p99 {nearest_rank(report.cpu_ms, 0.99):.3f} ms  (the work alone, on a busy machine)")
    _print(f"classifier ready in       {report.startup_s:.2f} s  (model {report.model_source})")


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "  n/a"


def _reply_misses(title: str, misses: list[ReplyMiss], shown: int = 40) -> None:
    _print()
    _print(f"{title} ({min(shown, len(misses))} of {len(misses)})")
    for miss in misses[:shown]:
        _print(f"  {miss.text[:70]!r}")
        _print(f"      expected {', '.join(miss.expected)}  replied {', '.join(miss.replied) or '(nothing)'}")


def main(path: Path) -> int:
    """Build the classifier of the repository's phrasings as a server does, evaluate on `path`, print the report."""
    start = time.perf_counter()
    classifier = Classifier(default_phrasings_dir())
    startup = elapsed(start)
    rows = _load(path)
    for text in ("hello", "how do I connect amazon.de? also, what is sp-api"):
        classifier.understand(text)  # the very first calls pay for lazy imports; the rows are measured cold
    report = evaluate(classifier, rows)
    report.startup_s = startup
    report.model_source = classifier.model_source
    guessing = Classifier(default_phrasings_dir(), abstain_margin=0.0)  # the same model, never abstaining
    replies = first_replies(classifier, rows, guessing)
    render(report, replies)
    second_opinion.report(classifier, rows, report.first_accuracy, replies)  # with LLM_* set; else one line
    return 0


def cross_validate(
    phrasings_dir: Path, folds: int = 5, seed: int = 7, clarify_below: float = CLARIFY_BELOW
) -> tuple[float, list[tuple[Topic, Topic, float]]]:
    """Out-of-fold accuracy on the phrasings (stratified by topic) and every (truth, top, p)."""
    data = read_phrasings(phrasings_dir)
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(data), dtype=np.int64)
    by_topic: dict[Topic, list[int]] = {}
    for i, (_, topic) in enumerate(data):
        by_topic.setdefault(topic, []).append(i)
    for indices in by_topic.values():
        order = rng.permutation(len(indices))
        for rank, j in enumerate(order):
            fold_of[indices[j]] = rank % folds
    outcomes: list[tuple[Topic, Topic, float]] = []
    for fold in range(folds):
        train = [row for i, row in enumerate(data) if fold_of[i] != fold]
        model = Classifier(phrasings_dir, rows=train, clarify_below=clarify_below)
        for i, (text, truth) in enumerate(data):
            if fold_of[i] == fold:
                top, p = model.top(text)
                outcomes.append((truth, top, p))
    correct = sum(1 for truth, top, p in outcomes if _scored(truth, top, p, clarify_below))
    return correct / len(outcomes), outcomes


def _scored(truth: Topic, top: Topic, p: float, threshold: float) -> bool:
    predicted = top if p >= threshold else Topic.CLARIFY
    return predicted == truth


def tune_threshold(outcomes: Sequence[tuple[Topic, Topic, float]], tolerance: float = 0.0025) -> tuple[float, float]:
    """The clarify threshold to use, and its out-of-fold accuracy.

    The phrasings hold their own `clarify` examples, so on them the best threshold is often 0;
    real traffic has vaguer messages than any list. So: the highest threshold whose accuracy is
    within `tolerance` of the best one, i.e. as cautious as the data allows.
    """
    curve = [
        (step / 100, statistics.fmean(1.0 if _scored(t, top, p, step / 100) else 0.0 for t, top, p in outcomes))
        for step in range(0, 61)
    ]
    best = max(accuracy for _, accuracy in curve)
    return max((c for c in curve if c[1] >= best - tolerance), key=lambda c: c[0])


@dataclass(frozen=True)
class Abstainable:
    """One held-out phrasing: whether the guess was right, and the gap between its two likeliest topics
    when the classifier could abstain on it at all (None: one of several questions, an error code ...)."""

    right: bool
    gap: float | None


def abstention_outcomes(phrasings_dir: Path, folds: int = 5, seed: int = 11) -> list[Abstainable]:
    """5-fold over the phrasings, each held-out one understood whole (rules included)."""
    data = read_phrasings(phrasings_dir)
    order = np.random.default_rng(seed).permutation(len(data))
    outcomes: list[Abstainable] = []
    for fold in range(folds):
        held = {int(i) for rank, i in enumerate(order) if rank % folds == fold}
        # a margin of 1 abstains wherever abstaining is allowed: the gap then decides
        model = Classifier(phrasings_dir, rows=[r for i, r in enumerate(data) if i not in held], abstain_margin=1.0)
        for i in sorted(held):
            text, truth = data[i]
            got = model.understand(text)
            gap = got.candidates[0][1] - got.candidates[1][1] if got.alternatives else None
            outcomes.append(Abstainable(got.topics[0] is truth, gap))
    return outcomes


def abstention_curve(outcomes: Sequence[Abstainable], margin: float) -> tuple[float, float, float]:
    """(abstention rate, precision: share of abstentions whose guess was wrong, accuracy of the rest)."""
    abstained = [o for o in outcomes if o.gap is not None and o.gap < margin]
    kept = [o for o in outcomes if not (o.gap is not None and o.gap < margin)]
    rate = len(abstained) / len(outcomes) if outcomes else 0.0
    precision = sum(not o.right for o in abstained) / len(abstained) if abstained else 0.0
    rest = sum(o.right for o in kept) / len(kept) if kept else 0.0
    return rate, precision, rest


def row_outcomes(rows: list[dict[str, object]]) -> list[Abstainable]:
    """The same for labelled customer messages (the tuning half), with the model of all the phrasings."""
    model = Classifier(default_phrasings_dir(), abstain_margin=1.0)
    outcomes: list[Abstainable] = []
    for row in rows:
        raw = row.get("topics", [])
        expected = {str(t) for t in raw} if isinstance(raw, list) else set()
        got = model.understand(str(row["text"]))
        gap = got.candidates[0][1] - got.candidates[1][1] if got.alternatives else None
        outcomes.append(Abstainable(got.topics[0].value in expected, gap))
    return outcomes


def tune_margin(sources: Sequence[Sequence[Abstainable]], at_least: float = 0.5) -> float:
    """The widest margin (in steps of 0.05) up to which abstaining beats guessing on every source: at each
    margin, the abstentions a source makes are wrong guesses at least `at_least` of the time (a source that
    makes none has no say). 0.0 turns abstention off.

    Under "the first reply is about what was asked" an abstention is never right itself: it only pays when the
    guess it replaces would have been wrong, so a margin that mostly replaces right guesses costs answers."""
    widest = 0.0
    for step in range(5, 55, 5):
        margin = step / 100
        curves = [abstention_curve(outcomes, margin) for outcomes in sources]
        if any(rate > 0 and precision < at_least for rate, precision, _ in curves):
            break
        widest = margin
    return widest


def tune(tuning_rows: Path | None = None) -> int:
    accuracy, outcomes = cross_validate(default_phrasings_dir(), clarify_below=0.0)
    threshold, tuned = tune_threshold(outcomes)
    _print(f"5-fold accuracy without a threshold {accuracy:.1%}")
    _print(f"best clarify threshold {threshold:.2f} -> {tuned:.1%} (in use: {CLARIFY_BELOW:.2f})")
    sources = {"5-fold phrasings": abstention_outcomes(default_phrasings_dir())}
    if tuning_rows is not None:
        sources[tuning_rows.name] = row_outcomes(_load(tuning_rows))
    sources["both"] = [o for name in list(sources) for o in sources[name]]
    for name, abstainable in sources.items():
        _print(f"abstention on {name} ({len(abstainable)} messages): margin, rate, precision (the guess was wrong),"
               " accuracy of the rest")
        for step in range(0, 55, 5):
            rate, precision, rest = abstention_curve(abstainable, step / 100)
            _print(f"  {step / 100:.2f}  {rate:5.1%}  {precision:6.1%}  {rest:6.1%}")
    own = [sources[name] for name in sources if name != "both"]
    _print(f"widest margin whose abstentions are wrong guesses at least half the time on each source:"
           f" {tune_margin(own):.2f} (in use: {ABSTAIN_MARGIN:.2f})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) in (2, 3) and sys.argv[1] == "--tune":
        raise SystemExit(tune(Path(sys.argv[2]) if len(sys.argv) == 3 else None))
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python -m bot.bench.understanding ROWS.jsonl | --tune [TUNING.jsonl]\n")
        raise SystemExit(2)
    raise SystemExit(main(Path(sys.argv[1])))
