"""What a message asks, answered: the error it names, facts from the slots, otherwise the topic's article.

A statement is not a question: "we're a seller", "amazon.de and .fr" fill the journey (the runner
remembers them) and get no explainer of their own. Only a question about them, or a doubt
("not sure if we're 1P or 3P"), is answered. At most MAX_ASIDES answers, in the order asked.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Final

import flows
from bot.knowledge import Article, Knowledge
from bot.types import Topic
from bot.understanding.questions import asks
from flows.base import Ctx, Say

if TYPE_CHECKING:
    from bot.classify import Understanding

MAX_ASIDES: Final = 3  # topics answered from one message

# "which region is Mexico?", "is amazon.com.br part of North America?", "do I need one login per region"
_ASKS_REGION: Final = re.compile(
    r"\bre?g[io]{1,2}ns?\b|\bregi[oó]n(?:es)?\b|\bregio\b|\br[ée]gions?\b|\bregion[ei]\b|\bnorth america\b|\beurope\b"
    r"|\bfar east\b|\b(?:na|eu|fe)\b|\bpart of\b|\bbelongs?\b|\bgrouped\b|\bsame (?:login|sign-?in|link)\b"
    r"|\bseparate(?:ly)?\b|\bhow many (?:times|logins|links|sign)|\bwhere do i (?:pick|find|choose|select)\b"
    r"|\bone (?:login|link|sign-?in|connection) (?:or|for)\b|地区|区域|リージョン")
# "vendor or seller?", "what is 1P", "not sure if we're 1P or 3P", "difference between VC and SC",
# "differenza tra vendor e seller", "can I change the account type", "so are we a vendor"
_ASKS_TYPE: Final = re.compile(
    r"\b(?:or|ou|oder|o|vs\.?|versus|difference|differ|which (?:one|type|account)|what(?:'s| is| does| are)"
    r"|what (?:\w+ )?(?:account )?type|which (?:\w+ )?type|kind of account|type of account"
    r"|means?|meaning|not sure|unsure|don'?t know|dunno|confused|no idea|wrong (?:type|one)|by mistake"
    r"|change (?:the |my |our )?(?:account )?type|should (?:it|we|i|this|that) be|(?:is|are) (?:that|this|it|we|i)"
    r"(?: an?)? (?:seller|vendor|1p|3p)|unterschied|différence|diferencia|differenza|diferença|verschil|farak|fark"
    r"|quale tipo|qu[eé] tipo|quel type|welche[rns]? (?:typ|art|konto)|qual tipo|welk type|kaunsa|konsa)\b"
    r"|区别|區別|違い|どちら|哪个|哪種|哪种")


def asks_about_region(text: str) -> bool:
    """A question about regions ("what region do i choose for austrlia"), not only marketplaces named."""
    return bool(_ASKS_REGION.search(text.lower())) and asks(text)


# The words of a question are endless ("with one login", "under the same account", "should it be seller"),
# so the model's reading counts too: a question it is this sure is about regions or the account type is one,
# whatever its words. A statement beside another question ("we're a seller, how do I connect?") is read as
# that other topic, so it stays a statement.
QUESTION_TOPIC_ABOVE: Final = 0.8


def _model_says_asked(topic: Topic, text: str, heard: Understanding) -> bool:
    """The model is sure the message is about `topic`, and a part of it asks: about that topic, or about
    nothing else ("on avait un compte Vendor Express, maintenant Seller Central. Je choisis quoi ?")."""
    if heard.topics[0] is not topic or heard.confidence < QUESTION_TOPIC_ABOVE:
        return False
    others = heard.questioned - {topic, Topic.CLARIFY, Topic.OFF_TOPIC}
    return bool(heard.questioned) and not others


def asks_about_type(text: str) -> bool:
    return bool(_ASKS_TYPE.search(text.lower()))


_STUCK_QUESTIONS: Final = frozenset({Topic.PREREQ_ADVERTISING, Topic.PREREQ_PERMISSIONS})


def only_asked(topic: Topic, text: str, heard: Understanding) -> bool:
    """'do I need to be admin?', 'must we have campaigns running?': a question about a prerequisite, not a
    report that it is missing, so it is answered without leaving the journey for the fix."""
    if topic not in _STUCK_QUESTIONS or heard.slots.admin is False or heard.slots.advertised is False:
        return False
    return asks(text) and not _MISSING.search(text.lower())


_MISSING: Final = re.compile(
    r"\b(?:not|no|never|don'?t|doesn'?t|haven'?t|hasn'?t|isn'?t|aren'?t|can'?t|only|just|paused|stopped|without)\b")


def stated_topics(text: str, heard: Understanding) -> set[Topic]:
    """The topics this message does not ask about, only states (or merely touches): no answer of their own.

    "we're a seller", "amazon.de and .fr", "our campaign is running now", "I'm admin" fill the journey;
    only a question or a doubt about them gets an explanation.
    """
    stated: set[Topic] = set()
    if not asks_about_type(text) and not _model_says_asked(Topic.CONNECT_ACCOUNT_TYPE, text, heard):
        stated.add(Topic.CONNECT_ACCOUNT_TYPE)
    if not asks_about_region(text) and not _model_says_asked(Topic.CONNECT_REGION, text, heard):
        stated.add(Topic.CONNECT_REGION)
    # "I have the admin rights ... How do we get the account connected?": said in passing, asked about nowhere
    if heard.slots.advertised and Topic.PREREQ_ADVERTISING not in heard.questioned:
        stated.add(Topic.PREREQ_ADVERTISING)
    if heard.slots.admin and Topic.PREREQ_PERMISSIONS not in heard.questioned:
        stated.add(Topic.PREREQ_PERMISSIONS)
    return stated


class Asides:
    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge

    def article(self, topic: Topic, account_type: str | None) -> Article | None:
        """The topic's article, the one written for this account type when there is one."""
        if account_type:
            own = [a for a in self.knowledge.articles.values()
                   if a.topics[0] == topic and a.applies_to == (account_type,)]
            if own:
                return own[0]
        return self.knowledge.for_topic(topic, account_type)

    def answers(self, ctx: Ctx, heard: Understanding) -> list[Say]:
        says: list[Say] = []
        seen: set[str] = set()
        for code in heard.slots.error_codes:
            article = self.knowledge.for_code(code)
            if article and article.id not in seen:
                seen.add(article.id)
                says.append(Say("common/article", topic=Topic.CONNECT_AMAZON_ERROR, vars={"article": article},
                                aside=True))
        if says:  # the specific error's article says more than the general one
            general = self.knowledge.for_topic(Topic.CONNECT_AMAZON_ERROR)
            if general:
                seen.add(general.id)
        stated = stated_topics(ctx.inbound.text, heard)
        for topic in heard.in_asked_order:
            if len(says) >= MAX_ASIDES:
                break
            if topic in stated or any(s.topic == topic for s in says):
                continue
            live = flows.ANSWERS.get(topic)
            said = live(ctx) if live is not None else None
            if said is not None:
                says.append(Say(said.template, said.topic, said.audience, said.vars, said.author, aside=True))
                continue
            article = self.article(topic, ctx.journey.account_type)
            if article is not None and article.id not in seen:
                seen.add(article.id)
                says.append(Say("common/article", topic=topic, vars={"article": article}, aside=True))
        return says


def shortened(says: list[Say] | tuple[Say, ...]) -> list[Say]:
    """Answers followed by a step: articles without their closing call to action (the step asks its own)."""
    return [replace(s, vars={**s.vars, "short": True}) if s.template == "common/article" else s for s in says]
