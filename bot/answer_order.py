"""A turn's messages in the order the customer asked: each question answered once, where it was asked.

`said_once` drops an answer the step says in its own words; `in_asked_order` orders the rest.

The flow decides what the turn does from the most actionable topic (a blocker, an error, a request to
connect); the customer reads the answers in the order they asked. Two things stay at the end, because
voice.md says each answer ends with the next step and a handoff says what happens next:

* a handoff (the request for a person is answered last, whatever its place in the message);
* the step's question with its choices: choices live on the turn's last message, so when the step is
  the answer to the first question and other answers follow it, the step is said in its place without
  its buttons and asked again at the end in one line (its `back/` template), with the buttons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import flows
from bot.types import Audience, Choice, Topic

if TYPE_CHECKING:
    from bot.runner import Planned


def said_once(messages: Sequence[Planned], lead_topic: Topic | None) -> list[Planned]:
    """An answer the step the turn went on to says in its own words is not said twice; a journey
    started because the customer asked to connect opens with a message carrying that topic."""
    prompts = {m.topic for m in messages if m.prompt}
    kept = [m for m in messages if not (m.aside and m.topic in prompts and m.topic not in flows.EXPLAIN_FIRST)]
    opening = [i for i, m in enumerate(kept) if m.audience == Audience.CUSTOMER and not m.aside]
    if lead_topic is not None and opening:
        kept[opening[0]] = replace(kept[opening[0]], topic=lead_topic)
    return kept


def in_asked_order(messages: Sequence[Planned], asked: Sequence[Topic],
                   back_line: Callable[[tuple[Choice, ...]], Planned | None]) -> list[Planned]:
    """`messages` reordered so answers follow `asked`; `back_line(choices)` re-asks the step in one line."""
    rank = {topic: i for i, topic in enumerate(asked)}
    if len(rank) < 2:
        return list(messages)
    customer = [m for m in messages if m.audience == Audience.CUSTOMER]
    others = [m for m in messages if m.audience != Audience.CUSTOMER]
    asides = sorted((m for m in customer if m.aside), key=lambda m: rank.get(m.topic, len(rank)))
    step = [m for m in customer if not m.aside]
    if not step:
        return [*asides, *others]
    lead = rank.get(step[0].topic)
    movable = (lead is not None and any(m.prompt for m in step) and not any(m.case_message for m in step)
               and all(a.topic != step[0].topic for a in asides))
    later = [i for i, a in enumerate(asides) if lead is not None and rank.get(a.topic, len(rank)) > lead]
    if not movable or not later:
        return [*asides, *step, *others]
    again = back_line(step[-1].choices)
    if again is None:  # no one-line form of this step: it stays last, whole
        return [*asides, *step, *others]
    earlier = [a for i, a in enumerate(asides) if i not in later]
    said = [*step[:-1], replace(step[-1], choices=())]
    return [*earlier, *said, *(asides[i] for i in later), again, *others]
