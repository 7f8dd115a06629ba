"""'Is this about X, or Y?': the one question the bot asks instead of guessing between two close topics.

The classifier abstains (`Understanding.alternatives`) when a one-question message's two likeliest
topics are too close to call. The bot then names both, with a button each, and keeps the message: the
customer's pick (a click, the label typed, "the first", "2") answers that message as if the classifier
had been sure of the picked topic. Anything else they say next is understood on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Final

from rapidfuzz import fuzz

import flows
from bot.asides import stated_topics
from bot.classify import Understanding
from bot.types import Choice, Topic
from flows.base import Ctx, Say, Step, stay
from flows.journey import Journey

KEPT_CHARS: Final = 2000  # of the message to answer once they pick (the classifier reads no more)
_FIRST: Final = re.compile(r"^\W*(?:1|one|the first(?: one)?|first(?: one)?|former)\W*$")
_SECOND: Final = re.compile(r"^\W*(?:2|two|the second(?: one)?|second(?: one)?|latter|the other(?: one)?)\W*$")


def ask(ctx: Ctx, heard: Understanding, label: Callable[[Topic], str]) -> Step:
    """Ask which of the two topics is meant, and remember the message for the answer."""
    options = heard.alternatives[:2]
    ctx.journey.which_of = [t.value for t in options]
    ctx.journey.which_of_text = ctx.inbound.text[:KEPT_CHARS]
    labels = [label(t) for t in options]
    choices = tuple(Choice(button(text), t.value) for text, t in zip(labels, options, strict=True))
    return stay(Say("common/which_of", topic=Topic.CLARIFY, vars={"options": labels}, choices=choices))


def worth_asking(journey: Journey, text: str, heard: Understanding) -> bool:
    """Whether the two topics are both asked and lead to different places.

    "we sell in the UK, I'm only a viewer" states its marketplaces (no region question to offer); "add
    amazon.co.jp" read as adding an account or as a region starts the same sign-in, and "how do I start"
    or "what do I need" the same journey: the bot goes ahead rather than ask what changes nothing.
    """
    first, second = heard.alternatives[:2]
    if {first, second} & stated_topics(text, heard):
        return False
    places = [flows.entry_for(t, journey.model_copy(deep=True), heard.slots.marketplaces) for t in (first, second)]
    return places[0] is None or places[0] != places[1]


def button(label: str) -> str:
    """A label as a button: its first letter upper-cased ("getting View and Edit access")."""
    return label[:1].upper() + label[1:]


def taken(journey: Journey) -> tuple[tuple[Topic, ...], str]:
    """The open "X or Y?" question of this conversation (topics, message), cleared: it is answered now or
    never (a customer who says something else has moved on)."""
    known = {t.value for t in Topic}
    offered = tuple(Topic(t) for t in journey.which_of if t in known)
    text = journey.which_of_text
    journey.which_of, journey.which_of_text = [], ""
    return offered, text


def picked(offered: Sequence[Topic], labels: Sequence[str], said: str) -> Topic | None:
    """The offered topic a click or a typed answer picks, if it picks one."""
    if not offered:
        return None
    text = " ".join(said.lower().split())
    for topic, label in zip(offered, labels, strict=True):
        if text in (topic.value, label.lower(), button(label).lower()):
            return topic
    if _FIRST.match(text):
        return offered[0]
    if _SECOND.match(text) and len(offered) > 1:
        return offered[1]
    if len(text) <= 60:
        scores = [fuzz.ratio(text, label.lower()) for label in labels]
        best = max(range(len(scores)), key=lambda i: scores[i])
        if scores[best] >= 85:
            return offered[best]
    return None
