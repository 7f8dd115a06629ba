"""Free text -> topics and slot values: `Classifier.understand`.

* **Topics** come from the linear model of `train.py`, loaded as plain data (`model.py`,
  `cache.py`) and scored without scikit-learn (`scoring.py`).
* **Slots** come from rules plus rapidfuzz (`slots.py`, `markets.py`); they need no training.

A message with several questions is cut into clauses; each clause is classified and every
confident topic is returned, the most actionable first (`topics`, what the turn acts on) and in the
order the customer asked them (`asked`, the order of the answers). Anything too vague, empty or
garbled becomes `Topic.CLARIFY` with a low confidence; one question whose two likeliest topics are
too close to call carries both as `alternatives` (the bot asks which is meant).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz, process

from bot.types import Topic
from bot.understanding.cache import load_or_train
from bot.understanding.markets import extract_marketplaces
from bot.understanding.model import Model
from bot.understanding.questions import asks
from bot.understanding.scoring import Scorer
from bot.understanding.slots import Slots, extract_account_type, extract_cleaned, only_slot_words
from bot.understanding.text import clean, normalize, split_clauses

# A topic scoring below this is not trusted: the message becomes `clarify`. Picked by 5-fold
# cross-validation on the phrasings (`python -m bot.bench.understanding --tune`), which maximises
# accuracy when every prediction under the threshold counts as `clarify`.
CLARIFY_BELOW: Final = 0.34

# A one-question message whose two likeliest topics are closer than this is not guessed: the bot asks
# which of the two is meant (`alternatives`). `python -m bot.bench.understanding --tune
# tests/eval/blind_tuning.jsonl` picks it: the widest margin up to which the abstentions replace a wrong
# guess at least half the time, on the 5-fold phrasings and on the customers' text of the tuning half alike.
# None does: on real customers' text the two close topics are usually read right (the tuning half at 0.35:
# 3 abstentions, 1 of them a wrong guess; at 0.10 the only abstention replaced a right answer), and the
# phrasings' narrowest band (0.05) holds 2 wrong guesses of 5. So 0.0: the bot answers its best reading.
# The question "is this about X, or Y?" stays for a caller that sets a margin (tests/test_which_of.py).
ABSTAIN_MARGIN: Final = 0.0
# Below CLARIFY_BELOW, two topics each this likely and within the margin are what the message is split between.
_TIE_MIN: Final = 0.2

# A clause of a multi-question message adds its topic only when this sure of it ...
_CLAUSE_MIN: Final = 0.50
# ... and goes before the message's main topic (as a blocker or error) only when this sure.
# Both were set on messages made by joining held-out phrasings two by two.
_JUMP_MIN: Final = 0.90
# A main topic no clause is about gives way to the surest clause's topic when that clause is this sure.
_SUPPORT_MIN: Final = 0.80
# A clause topic as important as the main one, and this sure, is ordered with it by position.
_PEER_MIN: Final = 0.70
# The message without its greetings and context statements decides the main topic only when this sure;
# less sure, the surest of it, the message without greetings and the whole message decides ("our stores
# are Britain, Deutschland and Oz, how many links do I need" is about regions, not "how many").
_VIEW_MIN: Final = 0.80


@dataclass(frozen=True)
class Understanding:
    topics: tuple[Topic, ...]  # most actionable first (what the turn acts on), at least one
    confidence: float  # 0..1 score of topics[0]
    slots: Slots
    asked: tuple[Topic, ...] = ()  # the same topics in the order the customer asked them; () = as `topics`
    # the model's two likeliest real topics (not clarify or off_topic) for the message, with probabilities
    candidates: tuple[tuple[Topic, float], ...] = ()
    # set when the classifier abstains: the two topics it cannot tell apart, likelier first; the bot asks
    # which one is meant instead of guessing (`topics[0]` is still its guess, for callers that must act)
    alternatives: tuple[Topic, ...] = ()
    # the topics some asking part of the message is about: the model's reading of each clause that asks
    # (bot/understanding/questions.py), of the whole message when it is one clause. "We're sellers, how do
    # we start?" questions connect.start, not the account type it states.
    questioned: frozenset[Topic] = frozenset()

    @property
    def in_asked_order(self) -> tuple[Topic, ...]:
        """The topics in the order the message asks them: the order their answers are given in."""
        return self.asked or self.topics


_HANDOFF_RE: Final = re.compile(
    r"\b(?:human|real person|a person|actual person|agent|representative|operator|datastrategist|strategist"
    r"|support team|call me|phone|escalat\w*|live chat|talk to|speak (?:to|with)|contact me|reach out to me)\b"
    r"|\b(?:can|could|need|want|get|have|let|please|pls)\s+(?:someone|somebody|a human|a person)\b"
)
_PLEASANTRY_RE: Final = re.compile(
    r"\W*(?:hi|hello|hey|hiya|yo|dear|greetings|good (?:morning|afternoon|evening|day)|thanks|thank you|thx|ty"
    r"|cheers|regards|kind regards|best regards|many thanks|appreciate it|sorry"
    r"|wait|hold on|hang on|one sec|hmm+|um+|uh+|oh|ah|ok so|okay so|well|quick question|one question"
    # the words that open an aside ("Before anything else, do you need my password?") ask nothing themselves
    r"|before anything else|first of all|first things first|before we (?:go on|continue|start)|separately"
    r"|one more thing|another thing|by the way|btw|real quick|quick one|side question|unrelated|on another note"
    r"|anyway|alright|all right)\b"
)
# Most actionable first: a request for a person, then errors and blockers, then questions.
_PRIORITY: Final[dict[Topic, int]] = {
    Topic.HANDOFF_REQUEST: 0,
    Topic.CONNECT_AMAZON_ERROR: 1,
    Topic.SYNC_OVERDUE: 1,
    Topic.PREREQ_PERMISSIONS_REFRESH: 1,
    Topic.CONNECT_ACCOUNT_NOT_LISTED: 1,
    Topic.ACCOUNT_LOGIN: 1,
    Topic.SIGNUP_EMAIL: 1,
    Topic.PREREQ_PERMISSIONS: 2,
    Topic.PREREQ_ADVERTISING: 2,
    Topic.ACCOUNT_REMOVAL: 2,
    Topic.OFF_TOPIC: 8,
    Topic.CLARIFY: 9,
}
_VAGUE: Final = frozenset({Topic.CLARIFY, Topic.OFF_TOPIC})
_CONTEXT_TOPICS: Final = frozenset({Topic.CONNECT_REGION, Topic.CONNECT_ACCOUNT_TYPE})
_QUESTION_TIER: Final = 3
_ANSWER_TIER: Final = 5  # a clause that only states a slot value ("we're a seller")


class Classifier:
    """Understands one customer message: its topics, how sure, and the slot values it states."""

    def __init__(
        self,
        phrasings_dir: Path,
        *,
        clarify_below: float = CLARIFY_BELOW,
        abstain_margin: float = ABSTAIN_MARGIN,
        rows: Iterable[tuple[str, Topic]] | None = None,
    ) -> None:
        """Load the model of the phrasings (trained once, then cached: see `cache.py`).

        With `rows` (cross-validation) the model is trained on them here, which imports
        scikit-learn into this process: fine for tests and benchmarks, not for serving.
        """
        self.clarify_below = clarify_below
        self.abstain_margin = abstain_margin
        model: Model
        if rows is not None:
            from bot.understanding.train import train

            model, self.model_source = train(rows), "trained in-process"
        else:
            model, self.model_source = load_or_train(phrasings_dir)
        self._topics: tuple[Topic, ...] = tuple(Topic(c) for c in model.classes)
        self._index = {t: i for i, t in enumerate(self._topics)}
        self._scorer = Scorer(model)
        self.temperature = model.temperature
        self._known_words = model.known_words
        self._long_known_words = tuple(sorted(w for w in self._known_words if len(w) >= 4))
        self._known_cjk_pairs = frozenset(p for w in self._known_words for p in _cjk_pairs(w))

    @property
    def topics(self) -> tuple[Topic, ...]:
        return self._topics

    def probabilities(self, text: str) -> NDArray[np.float64]:
        """Probability of every topic (in `self.topics` order) for text already `normalize`d."""
        return self._scorer.probabilities(text)

    def top(self, text: str) -> tuple[Topic, float]:
        """The model's best topic for raw text as a whole, and its probability (no rules)."""
        probs = self.probabilities(normalize(clean(text)[0]))
        best = int(probs.argmax())
        return self._topics[best], float(probs[best])

    def understand(self, text: str) -> Understanding:
        cleaned, garbage = clean(text if isinstance(text, str) else "")
        if garbage:
            return Understanding((Topic.CLARIFY,), 0.0, Slots())
        slots = extract_cleaned(cleaned)
        clauses = split_clauses(cleaned)
        if not clauses:
            return Understanding((Topic.CLARIFY,), 0.0, slots)
        if not self._has_known_word(cleaned) and slots == Slots():
            return Understanding((Topic.CLARIFY,), 0.0, slots)  # "qwerty", "zzz", another language
        if (slots.account_type or slots.marketplaces) and only_slot_words(cleaned):
            # a bare answer such as "vendor", "we're 3P" or "amazon.de and .fr"
            answered: list[Topic] = []
            if slots.account_type:
                answered.append(Topic.CONNECT_ACCOUNT_TYPE)
            if slots.marketplaces:
                answered.append(Topic.CONNECT_REGION)
            return Understanding(tuple(answered), 0.9, slots)

        # Classify each clause; greetings and thanks ("hi team", "thanks!") are set aside so
        # they do not water down the question next to them.
        # Statements of context ("We sell in the US and Canada on Seller Central.") are kept as
        # answers but do not decide the main topic when a question or a problem is next to them.
        parts: list[_Clause] = []
        if len(clauses) > 1:
            parts = [
                _Clause(i, c, self.probabilities(n), _is_question(cleaned, c), n)
                for i, (c, n) in enumerate((c, normalize(c)) for c in clauses)
            ]
        content = [c for c in parts if not self._is_pleasantry(c)]
        core = [c for c in content if not self._is_context(c)]
        views: list[list[_Clause]] = [v for v in (core, content) if v and len(v) < len(parts)]
        # the first view sure (_VIEW_MIN) of a real topic decides; failing that, the surest real one; else all
        scored: list[tuple[str, NDArray[np.float64]]] = []
        for view in [*views, parts]:
            text_of_view = " ".join(c.norm for c in view) if view is not parts else normalize(cleaned)
            seen = next((p for t, p in scored if t == text_of_view), None)  # core and content often read alike
            view_probs = self.probabilities(text_of_view) if seen is None else seen
            scored.append((text_of_view, view_probs))
            if self._topics[int(view_probs.argmax())] not in _VAGUE and float(view_probs.max()) >= _VIEW_MIN:
                break
        real_views = [v for v in scored if self._topics[int(v[1].argmax())] not in _VAGUE]
        whole, probs = max(real_views, key=lambda v: float(v[1].max())) if real_views else scored[-1]
        if not content:
            content = parts
        best = int(probs.argmax())
        top, top_p = self._topics[best], float(probs[best])

        # rank: (group, tier, position); group 0 = a person asked for, 1 = blockers that are
        # clearly asked about before the main topic, 2 = the main topic, 3 = the other questions
        found: dict[Topic, tuple[tuple[int, int, int], float]] = {}
        # where each topic is asked: the first clause that asks it, else the first that states it
        # ("We're a seller on amazon.sg. ... which region is Singapore?" asks about the region last)
        where: dict[Topic, int] = {}
        stated_at: dict[Topic, int] = {}

        def offer(topic: Topic, p: float, rank: tuple[int, int, int], at: int | None = None,
                  statement: bool = False) -> None:
            if topic not in found or rank < found[topic][0]:
                found[topic] = (rank, p)
            if at is not None:
                seen = stated_at if statement else where
                seen[topic] = min(at, seen.get(topic, at))

        best, top, top_p = self._supported(best, top, top_p, content)
        main_tier = _PRIORITY.get(top, _QUESTION_TIER)
        if top_p >= self.clarify_below:
            # the main topic sits where it is asked, so equal questions keep the customer's order
            asked_at = [c.position for c in content if int(c.probs.argmax()) == best and c.probs[best] >= _CLAUSE_MIN]
            offer(top, top_p, (2, 0, min(asked_at, default=0)), min(asked_at, default=None))
        # the main topic is what a question asks: a blocker only told on the way to it does not lead, unless it is
        # a prerequisite they say is missing ("we never ran any ads, can we connect anyway?")
        main_questioned = top_p >= self.clarify_below and any(c.question for c in content if c.position in asked_at)
        main_questioned = main_questioned and slots.advertised is not False and slots.admin is not False
        handoff_p = float(probs[self._index[Topic.HANDOFF_REQUEST]])
        has_answers = bool(slots.account_type or slots.marketplaces)
        form = sum(1 for c in content if _is_field(c)) >= 2
        if len(content) > 1:
            for clause in content:
                c_best = int(clause.probs.argmax())
                c_top, c_p = self._topics[c_best], float(clause.probs[c_best])
                handoff_p = max(handoff_p, float(clause.probs[self._index[Topic.HANDOFF_REQUEST]]))
                answers = _extract_answer_topics(clause.text) if has_answers and only_slot_words(clause.text) else ()
                for answer in answers:
                    offer(answer, c_p, (3, _ANSWER_TIER, clause.position), clause.position, statement=True)
                if answers or c_p < _CLAUSE_MIN or c_top in (Topic.CLARIFY, Topic.OFF_TOPIC):
                    continue
                if _word_count(clause.text) == 1 and not clause.question:
                    continue  # "separately, how would I ...": a lone word raises no topic unless asked ("SP-API?")
                if form and _is_field(clause):
                    continue  # "Company: Acme Ltd", "Campaigns: live": a pasted form's fields are facts, not questions
                if self._is_context(clause):
                    offer(c_top, c_p, (3, _ANSWER_TIER, clause.position), clause.position, statement=True)
                    continue
                tier = _PRIORITY.get(c_top, _QUESTION_TIER)
                # a one- or two-word fragment ("Admin access? Campaigns?") elaborates, never leads
                leads = (tier < main_tier and c_p >= _JUMP_MIN and _word_count(clause.text) >= 3
                         and (clause.question or not main_questioned))
                peer = tier == main_tier and c_p >= _PEER_MIN
                rank = (1, tier, clause.position) if leads else (2, 0, clause.position) if peer else (
                    3, tier, clause.position)
                offer(c_top, c_p, rank, clause.position)
        if handoff_p >= 0.2 and (top is Topic.HANDOFF_REQUEST or _HANDOFF_RE.search(whole)):
            offer(Topic.HANDOFF_REQUEST, max(handoff_p, top_p if top is Topic.HANDOFF_REQUEST else 0.0), (0, 0, 0))
        if slots.error_codes:
            amazon_p = max(float(probs[self._index[Topic.CONNECT_AMAZON_ERROR]]), 0.5)
            offer(Topic.CONNECT_AMAZON_ERROR, amazon_p, (1, 1, 0))

        vague = top in (Topic.CLARIFY, Topic.OFF_TOPIC)
        stated = vague and top_p < 0.6 and has_answers
        if stated:
            # unsure, but they did state an account type or marketplaces: that is the subject
            if slots.account_type:
                offer(Topic.CONNECT_ACCOUNT_TYPE, float(probs[self._index[Topic.CONNECT_ACCOUNT_TYPE]]), (2, 1, 0))
            if slots.marketplaces:
                offer(Topic.CONNECT_REGION, float(probs[self._index[Topic.CONNECT_REGION]]), (2, 1, 1))
        real = [p for t, (_, p) in found.items() if t not in (Topic.CLARIFY, Topic.OFF_TOPIC)]
        if real and (stated or not vague or max(real) >= min(top_p, 0.6)):
            found.pop(Topic.CLARIFY, None)
            found.pop(Topic.OFF_TOPIC, None)
        elif real:
            found = {top: found[top]}  # a confident "anything else" beats a weak clause
        candidates = self._candidates(probs)
        # a prerequisite they say is met ("都有广告在跑", "campaigns live, I'm admin") fills the form, it is not what
        # they ask about, when there is something else to go on
        for prereq, met in ((Topic.PREREQ_ADVERTISING, slots.advertised), (Topic.PREREQ_PERMISSIONS, slots.admin)):
            if met and prereq in found and (len(found) > 1 or has_answers) and prereq not in self._asked_in(parts):
                found.pop(prereq)
        if not found and (has_answers or slots.advertised is not None or slots.admin is not None):
            # unsure of the words, sure of the facts ("vendeur tiers sur Amazon.fr, je suis admin"): a
            # customer who states who they are and where they sell wants to connect
            return Understanding((Topic.CONNECT_START,), top_p, slots, candidates=candidates)
        if not found:
            if slots.yes_no is not None and len(whole.split()) <= 4:
                return Understanding((top,), top_p, slots)  # a bare answer: the caller reads yes_no
            tie = self._tie(candidates, slots)
            if tie:  # unsure, but between two topics only ("the access bit"): which of the two, not "say again"
                return Understanding((tie[0],), candidates[0][1], slots, candidates=candidates, alternatives=tie)
            return Understanding((Topic.CLARIFY,), top_p, slots, candidates=candidates)
        ordered = sorted(found, key=lambda t: found[t][0])
        alternatives = self._alternatives(ordered, candidates, slots)
        if parts:
            questioned = frozenset(self._topics[int(c.probs.argmax())] for c in parts if c.question or asks(c.text))
        else:
            questioned = frozenset({top}) if asks(cleaned) else frozenset()
        # in the order asked; but when the main topic is the one thing a question asks, what is only told on the way
        # ("Nothing listed. I'm only a Viewer. How does the owner upgrade me?") is answered after it
        main_asked = ordered[0] in questioned and not (questioned - _VAGUE - {ordered[0]})

        def asked_order(t: Topic) -> tuple[bool, int]:
            told = main_asked and t is not ordered[0] and t not in questioned
            return told, where.get(t, stated_at.get(t, self._asked_at(t, content, slots)))

        asked = sorted(ordered, key=asked_order)
        return Understanding(tuple(ordered), found[ordered[0]][1], slots, tuple(asked), candidates, alternatives,
                             questioned)

    def _supported(self, best: int, top: Topic, top_p: float, content: list[_Clause]) -> tuple[int, Topic, float]:
        """The main topic, unless the message's words read together make a topic none of its parts is about:
        "we're ready to connect. Also, once it's in, how long before I see numbers?" reads as "what do I need"
        whole, but its clauses ask to connect and about the sync. Then the surest clause's topic leads (not a
        statement of where they sell: a long story's whole can be about more than any of its parts)."""
        if len(content) < 2 or any(int(c.probs.argmax()) == best for c in content):
            return best, top, top_p
        sure = [(float(c.probs.max()), int(c.probs.argmax())) for c in content if not self._is_context(c)
                and self._topics[int(c.probs.argmax())] not in _VAGUE and float(c.probs.max()) >= _SUPPORT_MIN]
        if not sure:
            return best, top, top_p
        p, column = max(sure)
        return column, self._topics[column], p

    def _alternatives(self, ordered: list[Topic], candidates: tuple[tuple[Topic, float], ...],
                      slots: Slots) -> tuple[Topic, ...]:
        """The two topics to ask about when one question's two likeliest answers are too close to call.

        Never for several questions (each is answered), an error code or a request for a person (acted on
        as they are), or a guess the rules made rather than the model.
        """
        real = [t for t in ordered if t not in _VAGUE]
        if len(real) != 1 or len(candidates) < 2 or slots.error_codes or real[0] is Topic.HANDOFF_REQUEST:
            return ()
        (first, p1), (second, p2) = candidates[:2]
        if first is not real[0] or p1 - p2 >= self.abstain_margin:
            return ()
        return (first, second)

    def _asked_in(self, parts: list[_Clause]) -> set[Topic]:
        """The topics a clause of several asks on its own (one clause alone: none can be told apart)."""
        return {self._topics[int(c.probs.argmax())] for c in parts if c.question}

    def _tie(self, candidates: tuple[tuple[Topic, float], ...], slots: Slots) -> tuple[Topic, ...]:
        """The two topics a message too unsure for either is split between, when asking which is on."""
        if self.abstain_margin <= 0 or len(candidates) < 2 or slots.error_codes:
            return ()
        (first, p1), (second, p2) = candidates[:2]
        if p2 < _TIE_MIN or p1 - p2 >= self.abstain_margin or Topic.HANDOFF_REQUEST in (first, second):
            return ()
        return (first, second)

    def _candidates(self, probs: NDArray[np.float64]) -> tuple[tuple[Topic, float], ...]:
        """The two likeliest topics that are something to answer (not clarify, not off_topic)."""
        best: list[tuple[Topic, float]] = []
        for column in np.argsort(-probs):
            topic = self._topics[int(column)]
            if topic not in _VAGUE:
                best.append((topic, float(probs[column])))
                if len(best) == 2:
                    break
        return tuple(best)

    def _asked_at(self, topic: Topic, clauses: list[_Clause], slots: Slots) -> int:
        """The clause a topic no single clause was sure of is asked in: the one naming its error code or a
        person, else the first that scores it at least half as high as the best one."""
        if not clauses:
            return 0
        for clause in clauses:
            text = clause.text.lower()
            if topic is Topic.CONNECT_AMAZON_ERROR and any(code.lower() in text for code in slots.error_codes):
                return clause.position
            if topic is Topic.HANDOFF_REQUEST and _HANDOFF_RE.search(normalize(clause.text)):
                return clause.position
        column = self._index[topic]
        most = max(float(c.probs[column]) for c in clauses)
        # the first clause that scores it nearly as well as the best one: a topic raised early and asked
        # about again later was asked early ("We never ran ads and I'm not admin. Can we still connect?")
        return next(c.position for c in clauses if float(c.probs[column]) >= most / 2)

    def _has_known_word(self, cleaned: str) -> bool:
        """Whether any word is one the phrasings use, exactly or with a typo or two."""
        words = normalize(cleaned).split()
        if any(w in self._known_words for w in words):
            return True
        if sum(1 for pair in _cjk_pairs(cleaned) if pair in self._known_cjk_pairs) >= 2:
            return True  # Chinese or Japanese: no spaces between words, so pairs of characters are compared
        return any(
            process.extractOne(w, self._long_known_words, scorer=fuzz.ratio, score_cutoff=80) is not None
            for w in words
            if len(w) >= 4 and not w.startswith("_")
        )

    def _is_context(self, clause: _Clause) -> bool:
        """A statement of who they are or where they sell, not a question of its own."""
        best = self._topics[int(clause.probs.argmax())]
        return best in _CONTEXT_TOPICS and not clause.question

    def _is_pleasantry(self, clause: _Clause) -> bool:
        """A greeting, a thanks or a bare "help" next to the real question."""
        words = _word_count(clause.text)
        best = self._topics[int(clause.probs.argmax())]
        if _PLEASANTRY_RE.match(clause.text.lower()):
            # "hi team", "Hi there, I'm Sarah from Acme", "thanks a lot"
            return words <= 4 or (words <= 12 and best in (Topic.CLARIFY, Topic.OFF_TOPIC))
        return words <= 6 and best is Topic.CLARIFY  # "it doesn't work", "what should we do"


# "Company: Acme Ltd", "Account type: Vendor Central": one line of a pasted form or email signature
_FIELD_RE: Final = re.compile(r"\W*[A-Za-z][\w '/&().-]{0,30}:\s*\S")

def _is_field(clause: _Clause) -> bool:
    """One "Key: value" line that states a fact ("Marketplaces: UK, DE"), not "Quick one: what does it cost"."""
    match = _FIELD_RE.match(clause.text)
    return match is not None and not clause.question and not _QUESTION_START_RE.match(clause.text[match.end() - 1:])


_CJK_RUN: Final = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]{2,}")


def _word_count(text: str) -> int:
    """Words of a clause; Chinese and Japanese have no spaces, so two characters count as about one word."""
    words = len(text.split())
    for run in _CJK_RUN.findall(text):
        words += len(run) // 2 - 1 if len(run) >= 4 else 0
    return words


def _cjk_pairs(text: str) -> set[str]:
    """Every two neighbouring CJK characters of `text`."""
    return {run[i : i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)}


@dataclass(frozen=True)
class _Clause:
    position: int
    text: str
    probs: NDArray[np.float64]
    question: bool
    norm: str = ""  # the text as the model reads it (`normalize`d once)


_QUESTION_START_RE: Final = re.compile(
    r"\W*(?:\d\W+)?(?:how|what|what's|whats|which|where|who|why|when|is|are|do|does|did|can|could|should|will"
    r"|would|shall|may|any|wat|wht|hw)\b",
    re.IGNORECASE,
)


def _is_question(text: str, clause: str) -> bool:
    """Whether `clause` (a part of `text`) asks: a '?' after it, or a question word first."""
    if _QUESTION_START_RE.match(clause):
        return True
    at = text.find(clause)
    if at < 0:
        return False
    rest = text[at + len(clause) : at + len(clause) + 4].lstrip(" ,.-:")
    return rest.startswith("?")


def _extract_answer_topics(clause: str) -> tuple[Topic, ...]:
    """The topics a clause made only of slot values answers ("we're a seller", "UK and DE")."""
    topics: list[Topic] = []
    if extract_account_type(clause):
        topics.append(Topic.CONNECT_ACCOUNT_TYPE)
    if extract_marketplaces(clause):
        topics.append(Topic.CONNECT_REGION)
    return tuple(topics)
