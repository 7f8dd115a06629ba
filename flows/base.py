"""The vocabulary flows are written in: nodes, options, steps and effects.

A flow module declares `class S(StrEnum)` with values "<flow>.<state>" and a `FLOW = Flow(...)`
mapping each state to a `Node`. Transitions are data: an option's `to`, or one of the node's
declared `exits` returned by a small pure handler. Nothing here knows about Slack, HTTP or SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.types import Audience, Choice, Inbound, InboundKind, Topic
from flows.journey import Journey

if TYPE_CHECKING:
    from bot.classify import Understanding


@dataclass(frozen=True)
class Say:
    """One message: a template id under flows/templates, the topic it carries, and its variables."""

    template: str
    topic: Topic | None = None  # None: the topic of the node that says it
    audience: Audience = Audience.CUSTOMER
    vars: Mapping[str, Any] = field(default_factory=dict)
    author: str = ""  # a person's name when the message is theirs (a strategist's relayed reply); "" = the bot
    aside: bool = False  # an answer to what the customer asked, said before the conversation goes on
    choices: tuple[Choice, ...] = ()  # buttons of a question that is not a step's own ("do you mean X or Y?")


# Effects: what a step asks the engine to do besides talking.
@dataclass(frozen=True)
class StartTimer:
    kind: str
    after: timedelta
    guarded: bool = True  # cancelled when the conversation leaves the state that armed it


@dataclass(frozen=True)
class CancelTimers:
    kind: str


@dataclass(frozen=True)
class OpenCase:
    reason: str
    note: str = ""


@dataclass(frozen=True)
class UpdateCase:
    status: str  # claimed | returned | resolved
    by: str = ""


@dataclass(frozen=True)
class EscalateCase:
    """Nobody claimed the case within two SLAs: the engine routes it to the backup strategist."""


@dataclass(frozen=True)
class RateCase:
    """The customer's answer to the satisfaction question, kept on the (closed) case."""

    case_id: int
    rating: str


Effect = StartTimer | CancelTimers | OpenCase | UpdateCase | EscalateCase | RateCase


@dataclass(frozen=True)
class Timing:
    """How long the bot waits before it acts on silence; settings fill it (bot/app.py), flows read it."""

    link_nudge: timedelta = timedelta(minutes=30)  # a sign-in link not used: one nudge
    sync_stall: timedelta = timedelta(hours=12)  # a started sync with no progress: flagged before 48 h
    business_hours: str = "always"  # when Data Strategists answer (settings BUSINESS_HOURS, BUSINESS_TIMEZONE)
    business_timezone: str = "UTC"


@dataclass(frozen=True)
class Step:
    """The result of a handler: where to go (None: stay), what to say first, what else to do."""

    to: StrEnum | None = None
    say: tuple[Say, ...] = ()
    effects: tuple[Effect, ...] = ()
    reprompt: bool = False  # when staying: ask the current question again


def goto(to: StrEnum, *say: Say, effects: tuple[Effect, ...] = ()) -> Step:
    return Step(to=to, say=say, effects=effects)


def stay(*say: Say, reprompt: bool = False, effects: tuple[Effect, ...] = ()) -> Step:
    return Step(to=None, say=say, effects=effects, reprompt=reprompt)


@dataclass
class Ctx:
    """What a handler sees: the journey (its own copy, to change), the event, what was understood."""

    journey: Journey
    inbound: Inbound
    now: datetime
    state: str
    heard: Understanding | None = None
    choice: str | None = None
    timing: Timing = field(default_factory=Timing)
    lead_topic: Topic | None = None  # set when the journey a turn starts is itself the answer to what was asked

    @property
    def data(self) -> Mapping[str, Any]:
        return self.inbound.data


Handler = Callable[[Ctx], Step | None]


@dataclass(frozen=True)
class Option:
    label: str
    value: str
    to: StrEnum | None = None  # None: the node's on_choice handler decides
    sets: Mapping[str, Any] = field(default_factory=dict)  # journey fields this answer sets


@dataclass(frozen=True)
class TimerSpec:
    kind: str
    after: timedelta


@dataclass(frozen=True)
class Node:
    topic: Topic
    say: str | None = None  # template said on entering; None for pure routing nodes
    options: tuple[Option, ...] = ()
    reads: str | None = None  # understood slot ("yes_no", "account_type") whose value picks an option
    on_enter: Handler | None = None  # may set journey fields or route straight on
    on_choice: Handler | None = None
    on_text: Handler | None = None
    on_event: Mapping[InboundKind, Handler] = field(default_factory=dict)
    timers: tuple[TimerSpec, ...] = ()
    link: str | None = None  # "signin" | "spapi": a fresh Amazon link rides on the entering message
    exits: tuple[StrEnum, ...] = ()  # every state a handler of this node may go to
    resumable: bool = True  # a question aside comes back here; False for states that only wait
    say_again: str | None = None  # said instead of `say` when the step is asked again (no new link)
    returns_anywhere: bool = False  # a strategist may hand the conversation back to any step from here


@dataclass(frozen=True)
class Flow:
    name: str
    states: Mapping[StrEnum, Node]
    entry: StrEnum
    summary: str = ""

    def targets(self, state: StrEnum) -> list[tuple[StrEnum, str]]:
        """Every (target, label) edge leaving a state: the data diagrams and validation use."""
        node = self.states[state]
        edges: list[tuple[StrEnum, str]] = [(o.to, o.label) for o in node.options if o.to is not None]
        edges += [(target, "") for target in node.exits]
        return edges
