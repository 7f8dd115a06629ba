"""One turn's decision, without I/O: state + journey + event in; new state, messages and effects out.

The engine wraps this in a transaction; tests can drive it directly. Order of reading free text:
a case in progress relays it; "talk to a person" hands off; an answer to the open question takes
its option; the state's own reader; then the topic: a jump changes course, a question aside is
answered and the open question asked again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from rapidfuzz import fuzz

import flows
from bot import which_of
from bot.answer_order import in_asked_order, said_once
from bot.asides import Asides, asks_about_region, only_asked, shortened, stated_topics
from bot.classify import Understanding, extract_slots
from bot.knowledge import Knowledge
from bot.render import Templates
from bot.types import Audience, Choice, Inbound, InboundKind, Topic
from bot.understanding.questions import asks, asks_or_requests
from flows.answers import affirms
from flows.base import Ctx, Effect, Node, Option, Say, Step, Timing, goto, stay
from flows.handoff import handoff
from flows.journey import Journey
from flows.social import social_kind
from flows.states import Handoff

MAX_HOPS = 20  # routing nodes chained in one turn; more means a loop in a flow
_CUSTOMER_TURNS = frozenset({InboundKind.SAY, InboundKind.CLICK})
MAX_MISSES = 3  # answers in a row the bot cannot read before a person is brought in
_PRIMARY_USER_RE = re.compile(r"\bprimary\b|\bmain (?:user|login|account holder)\b|\baccount owner\b")


def _at_the_consent_step(state: str, heard: Understanding, text: str) -> Understanding:
    """At the SP-API step the Ads sign-in has already proved View and Edit: a question about permissions, or
    about the primary user, is about who may approve this step (Amazon's primary-user rule)."""
    if not state.startswith("sp_api.") or heard.topics[0] is Topic.CONNECT_SP_API:
        return heard
    if heard.topics[0] is Topic.PREREQ_PERMISSIONS or _PRIMARY_USER_RE.search(text.lower()):
        others = (Topic.CONNECT_SP_API, Topic.PREREQ_PERMISSIONS)
        topics = (Topic.CONNECT_SP_API, *(t for t in heard.topics if t not in others))
        asked = tuple(Topic.CONNECT_SP_API if t is heard.topics[0] else t for t in heard.in_asked_order)
        return Understanding(topics, heard.confidence, heard.slots, tuple(dict.fromkeys(asked)),
                             questioned=heard.questioned | {Topic.CONNECT_SP_API})
    return heard


def _restates_known(journey: Journey, heard: Understanding, text: str) -> bool:
    """The message says again what the journey already holds (the account type, its marketplaces) and asks
    nothing: agreement, not something the bot failed to read."""
    slots = heard.slots
    if asks(text) or not (slots.account_type or slots.marketplaces):
        return False
    same_type = slots.account_type in (None, journey.account_type)
    same_places = set(slots.marketplaces) <= set(journey.marketplaces)
    return same_type and same_places


def _after_answers(answers: list[Say], step: Step) -> Step:
    """`step` with the message's answers said first (short: the step asks its own question)."""
    return Step(to=step.to, say=(*shortened(answers), *step.say), effects=step.effects, reprompt=step.reprompt)


_VAGUE_TOPICS = frozenset({Topic.CLARIFY, Topic.OFF_TOPIC})
# the topics a vague follow-up question can be about: what the bot answered last (not a handoff: the case is)
_FOLLOWABLE = frozenset(t.value for t in Topic if t not in _VAGUE_TOPICS and t is not Topic.HANDOFF_REQUEST)
# an "anything else" reading this sure is not a follow-up ("can you write my listings?" is 1.0)
FOLLOW_UP_OFF_TOPIC_BELOW = 0.8
# while a case waits, a question the model reads this surely is answered by the bot too
WAITING_ANSWER_ABOVE = 0.5
# a request to connect this sure, which moved the journey on, is what the turn's first step answers
LEAD_TOPIC_ABOVE = 0.5
_JOURNEY_STEPS = ("connect.", "region.", "signin.")
_WANTS_TO_CONNECT = frozenset({Topic.CONNECT_START, Topic.CONNECT_ADD_ACCOUNT, Topic.CONNECT_REQUIREMENTS,
                               Topic.CONNECT_AGENCY})


class FlowError(RuntimeError):
    """A flow did something its declaration does not allow: a bug, never the customer's fault."""


class UnknownChoice(ValueError):
    """The click names no choice the bot's latest message offered."""


@dataclass(frozen=True)
class Planned:
    """A message decided in this turn; the engine attaches links and case references and stores it."""

    audience: Audience
    topic: Topic
    text: str
    choices: tuple[Choice, ...] = ()
    link: str | None = None  # "signin" | "spapi": a fresh Amazon link goes with this message
    case_message: bool = False  # carries the reference of the conversation's case
    author: str = ""  # the person who wrote it (a relayed reply); "" = the bot
    aside: bool = False  # an answer to a question, said before the conversation goes on
    prompt: bool = False  # the question of a step the turn entered


@dataclass
class Outcome:
    state: str
    journey: Journey
    messages: list[Planned] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    arm: list[tuple[str, timedelta, str]] = field(default_factory=list)  # (kind, after, guard state)
    left: list[str] = field(default_factory=list)  # states left: their guarded timers are cancelled
    lead_topic: Topic | None = None  # what the customer asked, when its answer is the journey the turn starts


class Runner:
    def __init__(self, templates: Templates, knowledge: Knowledge, timing: Timing | None = None) -> None:
        self.templates = templates
        self.knowledge = knowledge
        self.asides = Asides(knowledge)
        self.timing = timing or Timing()
        self.start_state = flows.START.value
        self.nodes: dict[str, Node] = {}
        self.members: dict[str, StrEnum] = {}
        for flow in flows.FLOWS:
            for state, node in flow.states.items():
                self.nodes[state.value] = node
                self.members[state.value] = state

    # ---- entry points -------------------------------------------------------------------------

    def run(self, state: str, journey: Journey, inbound: Inbound, heard: Understanding | None,
            now: datetime) -> Outcome:
        if state not in self.nodes:  # a state removed from the flows: start over rather than fail
            state = flows.START.value
        # Handlers change the journey in place: the caller passes one it owns (the engine builds it
        # fresh from the row each turn and writes it back only if the whole turn succeeds).
        ctx = Ctx(journey=journey, inbound=inbound, now=now, state=state, heard=heard, timing=self.timing)
        outcome = Outcome(state=state, journey=ctx.journey)
        node = self.nodes[state]
        offered, asked_text = which_of.taken(journey) if inbound.kind in _CUSTOMER_TURNS else ((), "")
        picked = self._picked(offered, ctx)
        if picked is not None:  # "is this about X, or Y?" answered: the message it asked about, about that topic
            ctx.inbound = Inbound(InboundKind.SAY, inbound.key, text=asked_text)
            ctx.heard = Understanding((picked,), 1.0, extract_slots(asked_text))
            step, checked = self._by_topic(node, ctx, ctx.heard), False
        else:
            step, checked = self._decide(node, ctx)
        self._apply(step, ctx, outcome, node, checked)
        ctx.journey.stamp_milestones(now)
        answered = [m.topic for m in outcome.messages
                    if m.audience == Audience.CUSTOMER and m.topic not in _VAGUE_TOPICS]
        if answered:
            ctx.journey.last_topic = answered[-1].value
        if ctx.lead_topic is None and self._asked_to_connect(ctx, outcome, state):
            ctx.lead_topic = Topic.CONNECT_START  # "found it in spam. now I want to connect": the step answers it
        outcome.lead_topic = ctx.lead_topic
        outcome.messages = said_once(outcome.messages, ctx.lead_topic)
        if ctx.heard is not None:
            outcome.messages = in_asked_order(outcome.messages, ctx.heard.in_asked_order,
                                              lambda choices: self._back_line(ctx, choices))
        return outcome

    @staticmethod
    def _asked_to_connect(ctx: Ctx, outcome: Outcome, state: str) -> bool:
        """The customer's words asked to connect, and the turn moved the journey on to a step of it."""
        heard = ctx.heard
        if heard is None or ctx.inbound.kind != InboundKind.SAY or outcome.state == state:
            return False
        # from outside the journey into it ("found it in spam, now I want to connect"); within it, or on to SP-API
        # ("yes lets connect it"), the next step answers the step's own question
        entered = not state.startswith(_JOURNEY_STEPS) and outcome.state.startswith(_JOURNEY_STEPS)
        if not entered:
            return False
        return heard.topics[0] is Topic.CONNECT_START and heard.confidence >= LEAD_TOPIC_ABOVE

    def _back_line(self, ctx: Ctx, choices: tuple[Choice, ...]) -> Planned | None:
        """The step the turn ended at, asked again in one line (after the answers that followed it)."""
        back = f"back/{ctx.state}"
        if not self.templates.exists(back):
            return None
        ctx.journey.reasked = ctx.state
        return Planned(Audience.CUSTOMER, self.nodes[ctx.state].topic, self._render(back, ctx, {}), choices)

    def _picked(self, offered: tuple[Topic, ...], ctx: Ctx) -> Topic | None:
        return which_of.picked(offered, [self.label(t) for t in offered], ctx.inbound.text)

    def label(self, topic: Topic) -> str:
        """What a topic is about, in the customer's words (an option of "is this about X, or Y?")."""
        return self.templates.render("common/topic_label", {"topic": topic.value})

    def accepts_click(self, state: str, journey: Journey, pressed: str) -> bool:
        """Whether a click answers the latest question: one of the state's options, or of an open "X or Y?"."""
        if self.find_option(state, pressed) is not None:
            return True
        offered = tuple(Topic(t) for t in journey.which_of if t in {topic.value for topic in Topic})
        return which_of.picked(offered, [self.label(t) for t in offered], pressed) is not None

    def options_of(self, state: str) -> tuple[Option, ...]:
        node = self.nodes.get(state)
        return node.options if node else ()

    def find_option(self, state: str, pressed: str) -> Option | None:
        wanted = pressed.strip().lower()
        return next((o for o in self.options_of(state)
                     if wanted in (o.label.lower(), o.value.lower())), None)

    # ---- deciding ------------------------------------------------------------------------------

    def _decide(self, node: Node, ctx: Ctx) -> tuple[Step, bool]:
        """The step for this event, and whether it must stay within the node's declared exits."""
        kind = ctx.inbound.kind
        if kind == InboundKind.CLICK:
            option = self.find_option(ctx.state, ctx.inbound.text)
            if option is None:
                raise UnknownChoice(f"{ctx.inbound.text!r} is not one of the choices offered")
            return self._choose(node, option, ctx), True
        if kind == InboundKind.SAY:
            return self._read_text(node, ctx)
        handler = node.on_event.get(kind)
        if kind == InboundKind.TIMER and ctx.data.get("guard") != ctx.state:
            handler = None  # a timer armed by a state the conversation has left is not this node's
        if handler is not None:
            step = handler(ctx)
            if step is not None:
                return step, True
        fallback = flows.EVENTS.get(kind)
        step = fallback(ctx) if fallback else None
        return (step or stay()), False

    def _choose(self, node: Node, option: Option, ctx: Ctx) -> Step:
        for name, value in option.sets.items():
            setattr(ctx.journey, name, value)
        ctx.choice = option.value
        if option.value == "person" and option.to is None:
            return handoff(ctx, "customer_request")
        if option.to is not None:
            return goto(option.to)
        step = node.on_choice(ctx) if node.on_choice is not None else None
        return step or stay(reprompt=True)

    def _read_text(self, node: Node, ctx: Ctx) -> tuple[Step, bool]:
        heard = ctx.heard
        if ctx.state.startswith("handoff.") and node.on_text is not None:
            step = node.on_text(ctx)
            if step is not None:
                return self._answered_while_waiting(step, ctx, heard), True
        if heard is None:
            return self._not_understood(node, ctx), True
        heard = ctx.heard = _at_the_consent_step(ctx.state, heard, ctx.inbound.text)
        self._remember(ctx, heard)
        if heard.topics[0] == Topic.HANDOFF_REQUEST:
            return self._to_person(ctx, heard), False
        option = self._answer_option(node, ctx, heard)
        if option is not None:
            return self._answered_with(self._choose(node, option, ctx), ctx, heard), True
        if node.on_text is not None:
            step = node.on_text(ctx)
            if step is not None:  # "Maybe we're a seller? What's the difference?": the step, its question answered
                return self._answered_with(step, ctx, heard, besides=self._topic_of(step)), True
        social = social_kind(ctx.inbound.text)
        if social is not None and not heard.slots.error_codes:
            return self._social(node, ctx, social), True
        return self._by_topic(node, ctx, heard), False

    def _answered_while_waiting(self, step: Step, ctx: Ctx, heard: Understanding | None) -> Step:
        """'It shows MD1000, what did I do wrong?' while the case waits for a strategist: the message goes to the
        case as always, and a question the bot can answer itself is answered now instead of after the wait.
        Once a strategist has claimed the case, they answer: the bot does not talk over them."""
        if heard is None or ctx.journey.case_status != "open" or not asks_or_requests(ctx.inbound.text):
            return step
        if heard.topics[0] in (*_VAGUE_TOPICS, Topic.HANDOFF_REQUEST) or heard.confidence < WAITING_ANSWER_ABOVE:
            return step
        rest = tuple(t for t in heard.in_asked_order if t is not Topic.HANDOFF_REQUEST)
        if not rest:
            return step
        answers = self.asides.answers(ctx, Understanding(rest, heard.confidence, heard.slots,
                                                         questioned=heard.questioned))
        if not answers:
            return step
        relayed = [s for s in step.say if s.audience != Audience.CUSTOMER]
        noted = [s for s in step.say if s.audience == Audience.CUSTOMER]
        return Step(to=step.to, say=(*relayed, *shortened(answers), *noted), effects=step.effects,
                    reprompt=step.reprompt)

    def _topic_of(self, step: Step) -> Topic | None:
        """The topic of the step a turn moves to (None when it stays)."""
        return self.nodes[step.to.value].topic if step.to is not None else None

    def _answered_with(self, step: Step, ctx: Ctx, heard: Understanding, besides: Topic | None = None) -> Step:
        """'Sellers, do we need SP-API?' at the Vendor-or-Seller step: the answer moves the journey on, and the
        question it came with is answered first; `besides`: a topic the step itself answers, not said twice."""
        if not asks(ctx.inbound.text):
            return step
        answers = [a for a in self.asides.answers(ctx, heard) if a.topic is not besides]
        if not answers:
            return step
        return _after_answers(answers, step)

    def _to_person(self, ctx: Ctx, heard: Understanding) -> Step:
        """'Is it connected? and who is my data strategist': the other questions first, then the handoff,
        which names the Amazon error when the customer reported one."""
        others = tuple(t for t in heard.in_asked_order if t != Topic.HANDOFF_REQUEST)
        rest = Understanding(others, heard.confidence, heard.slots) if others else None
        answers = self.asides.answers(ctx, rest) if rest is not None else []
        reason = "amazon_error" if flows.person_needed_for(heard.slots.error_codes) else "customer_request"
        step = handoff(ctx, reason, asked=True)
        if answers and not (heard.questioned - _VAGUE_TOPICS - {Topic.HANDOFF_REQUEST}):
            # "this is taking way too long, can I just talk to a person?": the person is the one thing asked, so it
            # is answered first; what the complaint needs follows, as part of the same reply
            told = [replace(a, aside=False) for a in shortened(answers)]
            return Step(to=step.to, say=(*step.say, *told), effects=step.effects, reprompt=step.reprompt)
        return _after_answers(answers, step)

    def _social(self, node: Node, ctx: Ctx, kind: str) -> Step:
        """Thanks, bye, ok, hello?: a short fitting reply, and the pending step in one line."""
        j = ctx.journey
        j.misses = 0
        pending = node.resumable and node.say is not None
        # nothing pending: a bare "hi" or "are you there?" gets what the bot helps with (off_topic's reply)
        topic = node.topic if pending else Topic.OFF_TOPIC
        # "bye" ends here; "thanks" then "ok" do not get the same step twice in a row
        again = pending and kind != "bye" and j.reasked != ctx.state
        return stay(Say("common/social", topic=topic, vars={"kind": kind, "pending": pending}), reprompt=again)

    def _remember(self, ctx: Ctx, heard: Understanding) -> None:
        """Keep what the customer tells in passing, so the bot never asks for it again."""
        j, slots = ctx.journey, heard.slots
        if j.account_type is None and slots.account_type:
            j.account_type = slots.account_type
        if j.agency is None and slots.agency is not None:
            j.agency = slots.agency
        if j.new_customer is None and slots.new_customer is not None:
            j.new_customer = slots.new_customer
        if slots.advertised is not None:  # the latest word counts: "no campaigns yet" ... "it's live now"
            j.advertised = slots.advertised
        if slots.admin is not None:
            j.admin = slots.admin
        # "which region is Japan?" asks about a marketplace; it does not say they sell there
        if slots.marketplaces and not j.connections and not j.pending_regions and not asks_about_region(
                ctx.inbound.text):
            j.marketplaces = list(dict.fromkeys([*j.marketplaces, *slots.marketplaces]))
        for code in slots.error_codes:
            if code not in {e.code for e in j.errors}:
                j.note_error(code, ctx.state, ctx.now, detail="reported by the customer")

    def _answer_option(self, node: Node, ctx: Ctx, heard: Understanding) -> Option | None:
        """The offered option this free text answers, if any: by its words, or by the slot it reads."""
        if not node.options:
            return None
        text = " ".join(ctx.inbound.text.lower().split())
        for option in node.options:
            if text in (option.label.lower(), option.value.lower()):
                return option
        if len(text) <= 40:
            best = max(node.options, key=lambda o: fuzz.ratio(text, o.label.lower()))
            if fuzz.ratio(text, best.label.lower()) >= 85:
                return best
            # "I am the owner actually", "pls send a new link": a label of several words, said within the answer.
            said = [o for o in node.options if len(o.label.split()) >= 3 and o.label.lower() in text]
            if len(said) == 1:
                return said[0]
        for slot in (node.reads, "yes_no"):  # "idk" answers a "Not sure" option whatever the step reads
            value = getattr(heard.slots, slot, None) if slot else None
            if value is None and slot == "yes_no" and affirms(ctx.inbound.text):
                value = "yes"
            if value is not None:
                wanted = "yes" if value is True else "no" if value is False else str(value)
                picked = next((o for o in node.options if o.value == wanted), None)
                if picked is not None:
                    return picked
        return None

    def _followed_up(self, node: Node, ctx: Ctx, heard: Understanding) -> Understanding:
        """A question the words alone do not place ("do I have to do this second amazon thing?", "should I try
        another browser or what?") is about what the conversation is on: the step's topic, else the topic the
        bot answered last. A clear "anything else" ("can you write my listings?") stays what it is."""
        vague = heard.topics[0] is Topic.CLARIFY or (
            heard.topics[0] is Topic.OFF_TOPIC and heard.confidence < FOLLOW_UP_OFF_TOPIC_BELOW)
        if not vague or heard.slots.error_codes or not asks(ctx.inbound.text):
            return heard
        on = node.topic if node.resumable and node.topic not in _VAGUE_TOPICS else None
        last = ctx.journey.last_topic
        follow = on or (Topic(last) if last in _FOLLOWABLE else None)
        if follow is None:
            return heard
        return Understanding((follow,), heard.confidence, heard.slots, questioned=frozenset({follow}))

    def _by_topic(self, node: Node, ctx: Ctx, heard: Understanding) -> Step:
        heard = ctx.heard = self._followed_up(node, ctx, heard)
        topic = heard.topics[0]
        if topic == Topic.CLARIFY and node.resumable and _restates_known(ctx.journey, heard, ctx.inbound.text):
            return self._social(node, ctx, "ack")  # "ok, let's redo it as seller" once it is seller: agreed, go on
        if topic == Topic.CLARIFY or (topic == Topic.OFF_TOPIC and node.resumable):
            return self._not_understood(node, ctx)
        ctx.journey.misses = 0
        if heard.alternatives and which_of.worth_asking(ctx.journey, ctx.inbound.text, heard):
            # two topics too close to call: ask which, rather than answer the wrong one
            return which_of.ask(ctx, heard, self.label)
        answers = self.asides.answers(ctx, heard)
        if flows.person_needed_for(heard.slots.error_codes):  # e.g. MD codes: our app's setup, never the customer's
            step = handoff(ctx, "amazon_error", asked=Topic.HANDOFF_REQUEST in heard.topics)
            answers = [a for a in answers if a.topic != Topic.HANDOFF_REQUEST]
            return _after_answers(answers, step)
        question_open = node.resumable
        asked = only_asked(topic, ctx.inbound.text, heard)
        if (topic in flows.JUMPS and not asked) or not question_open:
            return self._start(topic, ctx, answers, heard)
        # "it says no account found. is it because the campaign is new?" at the missing-account step: the step
        # already says its own topic, so only what is asked about it is answered again
        answers = [a for a in answers if a.topic != node.topic or a.topic in heard.questioned]
        if not answers:  # only statements, already remembered: the step goes on
            return stay(reprompt=True)
        return stay(*shortened(answers), reprompt=True)

    def _start(self, topic: Topic, ctx: Ctx, answers: list[Say], heard: Understanding) -> Step:
        """Answer first, then lead: the answers of the message, then the journey at the right step."""
        j = ctx.journey
        action = flows.TOPIC_ACTIONS.get(topic)
        acted = action(ctx) if action else None
        if acted is not None:
            lead = shortened(answers) if acted.to is not None else answers
            return Step(to=acted.to, say=(*lead, *acted.say), effects=acted.effects)
        asked = only_asked(topic, ctx.inbound.text, heard)  # answered, then the journey from its start
        stated = topic in stated_topics(ctx.inbound.text, heard)  # "vendeur sur Amazon.fr, je suis admin"
        fixed = stated and topic in (Topic.PREREQ_ADVERTISING, Topic.PREREQ_PERMISSIONS)  # said to be in place
        entry = Topic.CONNECT_REQUIREMENTS if asked else Topic.CONNECT_START if fixed else topic
        target = flows.entry_for(entry, j, heard.slots.marketplaces)
        if target is None:
            return stay(*answers)
        if topic == Topic.CONNECT_START or stated:
            ctx.lead_topic = Topic.CONNECT_START  # the journey itself answers "how do I connect"
        # connect.start's article is the journey it starts: the steps say it in their own words.
        lead = [say for say in answers if say.topic != Topic.CONNECT_START]
        return Step(to=target, say=tuple(shortened(lead)))

    def _not_understood(self, node: Node, ctx: Ctx) -> Step:
        ctx.journey.misses += 1
        if ctx.journey.misses >= MAX_MISSES:
            ctx.journey.misses = 0
            return handoff(ctx, "not_understood")
        if not node.resumable:
            return stay(Say("common/what_i_do", topic=Topic.CLARIFY))
        return stay(Say("common/didnt_catch", topic=Topic.CLARIFY), reprompt=True)

    # ---- applying ------------------------------------------------------------------------------

    def _apply(self, step: Step, ctx: Ctx, outcome: Outcome, node: Node, checked: bool) -> None:
        self._check(node, ctx.state, step, checked)
        self._emit(step.say, node, ctx, outcome)
        outcome.effects.extend(step.effects)
        if step.to is None:
            if step.reprompt:
                self._prompt(node, ctx, outcome, again=True)
            return
        self._enter(step.to, ctx, outcome)

    def _enter(self, target: StrEnum, ctx: Ctx, outcome: Outcome) -> None:
        for _ in range(MAX_HOPS):
            if target.value != ctx.state:
                outcome.left.append(ctx.state)
            ctx.state = outcome.state = target.value
            ctx.journey.misses = 0
            ctx.journey.reasked = None
            node = self.nodes[target.value]
            routed = node.on_enter(ctx) if node.on_enter else None
            if routed is not None:
                self._check(node, ctx.state, routed, True)
                self._emit(routed.say, node, ctx, outcome)
                outcome.effects.extend(routed.effects)
                if routed.to is not None:
                    target = routed.to
                    continue
            self._prompt(node, ctx, outcome)
            for timer in node.timers:
                outcome.arm.append((timer.kind, timer.after, ctx.state))
            return
        raise FlowError(f"more than {MAX_HOPS} routing steps from {ctx.state}: a loop in the flows")

    def _check(self, node: Node, state: str, step: Step, checked: bool) -> None:
        if not checked or step.to is None or step.to == Handoff.WAITING or node.returns_anywhere:
            return  # any state may hand off; global handlers are not bound to one node
        allowed = set(node.exits) | {o.to for o in node.options if o.to is not None}
        if step.to not in allowed:
            raise FlowError(f"{state} went to {step.to.value}, which it does not declare as an exit")

    def _prompt(self, node: Node, ctx: Ctx, outcome: Outcome, again: bool = False) -> None:
        if node.say is None:
            return
        choices = tuple(Choice(o.label, o.value) for o in node.options)
        back = f"back/{ctx.state}"
        if again and outcome.messages and self.templates.exists(back):
            # after an aside or a short reply: the pending step in one line, not its whole message again
            text = self._render(back, ctx, {})
            outcome.messages.append(Planned(Audience.CUSTOMER, node.topic, text, choices))
            ctx.journey.reasked = ctx.state
            return
        if again and node.say_again is not None:  # the link already sent still works: no second one
            text = self._render(node.say_again, ctx, {})
            outcome.messages.append(Planned(Audience.CUSTOMER, node.topic, text, choices))
            return
        text = self._render(node.say, ctx, {})
        outcome.messages.append(Planned(Audience.CUSTOMER, node.topic, text, choices, node.link, prompt=not again))

    def _emit(self, says: tuple[Say, ...] | list[Say], node: Node, ctx: Ctx, outcome: Outcome) -> None:
        for say in says:
            text = self._render(say.template, ctx, say.vars)
            outcome.messages.append(Planned(say.audience, say.topic or node.topic, text, say.choices,
                                            case_message=say.template.startswith("handoff/"), author=say.author,
                                            aside=say.aside))

    def _render(self, template: str, ctx: Ctx, variables: Mapping[str, Any]) -> str:
        return self.templates.render(template, {
            "journey": ctx.journey, "event": ctx.inbound.data, "now": ctx.now, **variables})
