"""The second opinion's side of `bench understanding`: the same rows with LLM_* set, beside the local model alone.

Off (one line saying how to turn it on) unless LLM_BASE_URL and LLM_MODEL are set. Each row is
classified locally, then reviewed by the model when the local answer is unsure; the first-reply
figures run every row as a first turn again, with the model asked inside those turns as in service.
"""

from __future__ import annotations

import sys
import time
from urllib.parse import urlsplit

from bot.bench.figures import elapsed, nearest_rank
from bot.bench.replies import ReplyReport, first_replies
from bot.classify import Classifier
from bot.config import load_settings
from bot.understanding.second_opinion import second_opinion_for


def _print(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def _first_accuracy(classifier: Classifier, rows: list[dict[str, object]]) -> tuple[float, list[float]]:
    """Share of rows whose main topic is one of theirs with the second opinion, and the seconds each
    consulted review took."""
    opinion = second_opinion_for(load_settings(), classifier)
    correct, waits = 0, []
    for row in rows:
        text = str(row["text"])
        heard = classifier.understand(text)
        if opinion is not None and opinion.unsure(text, heard):
            start = time.perf_counter()
            heard = opinion.review(text, heard)
            waits.append(elapsed(start))
        raw = row.get("topics", [])
        correct += heard.topics[0].value in (raw if isinstance(raw, list) else [])
    if opinion is not None:
        stats = opinion.stats
        _print(f"  consulted {stats.consulted} of {len(rows)} messages ({stats.consulted / max(1, len(rows)):.1%}): "
               f"answered {stats.answered}, changed the main topic {stats.changed}, fell back {stats.failed}")
        opinion.close()
    return correct / max(1, len(rows)), waits


def report(classifier: Classifier, rows: list[dict[str, object]], local_first: float,
           local_replies: ReplyReport) -> None:
    """Print the figures with the second opinion beside those without, or how to get them."""
    settings = load_settings()
    _print()
    if not settings.llm_base_url or not settings.llm_model:
        _print("second opinion            off (set LLM_BASE_URL and LLM_MODEL to compare with a language model)")
        return
    _print(f"with the second opinion ({settings.llm_model} at {urlsplit(settings.llm_base_url).netloc}, "
           f"asked below confidence {settings.llm_consult_below:.2f}, timeout {settings.llm_timeout_seconds:g} s)")
    both, waits = _first_accuracy(classifier, rows)
    replies = first_replies(classifier, rows, second_opinion=True)
    _print(f"  classifier: first-message accuracy  {local_first:.1%} -> {both:.1%}")
    _print(f"  the bot's first reply               {local_replies.first_accuracy:.1%} -> {replies.first_accuracy:.1%}")
    _print(f"  multi-question recall (reply)       {local_replies.multi_recall:.1%} -> {replies.multi_recall:.1%}")
    if waits:
        _print(f"  waiting for the model               p50 {nearest_rank(waits, 0.5) * 1000:.0f} ms  "
               f"p99 {nearest_rank(waits, 0.99) * 1000:.0f} ms  (consulted messages only)")
