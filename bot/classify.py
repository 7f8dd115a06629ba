"""Free text -> topics and slot values.

Two halves, both built for phrasings nobody here wrote:

* **Topics** come from a linear model over TF-IDF features: character n-grams inside word
  boundaries (2-5, robust to typos, slang and missing spaces) plus word uni- and bigrams. The
  model is a linear SVM whose margins are turned into probabilities by temperature scaling, the
  temperature fitted on out-of-fold scores at construction. Training reads
  `knowledge/phrasings/<topic>.txt` (one phrasing per line) and takes well under a second.
  Scoring afterwards skips scikit-learn's per-call machinery (validation and sparse-matrix
  building cost more than the arithmetic): the fitted vocabulary, IDF weights and coefficients
  are read out once and applied with dictionary look-ups and one small matrix product, which
  gives exactly the scikit-learn numbers.
* **Slots** (account type, agency, marketplaces, yes/no, error codes, new customer) come from
  rules plus rapidfuzz for misspelt country names. They need no training.

A message with several questions is cut into clauses; each clause is classified and every
confident topic is returned, the most actionable first. Anything too vague, empty or garbled
becomes `Topic.CLARIFY` with a low confidence.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.types import Topic

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

# scikit-learn and SciPy are imported where a Classifier is built, not here: importing this
# module (for `Understanding`, `Slots`, `extract_slots`) stays cheap.

__all__ = [
    "CLARIFY_BELOW",
    "Classifier",
    "Slots",
    "Understanding",
    "default_phrasings_dir",
    "extract_slots",
    "normalize",
    "read_phrasings",
    "split_clauses",
]

# Text past this many characters is not read: a real question is never that long, and it keeps
# a pasted log or a 1 MB upload cheap.
MAX_CHARS: Final = 2000

# A topic scoring below this is not trusted: the message becomes `clarify`. Picked by 5-fold
# cross-validation on the phrasings (`python -m bot.classify_bench --tune`), which maximises
# accuracy when every prediction under the threshold counts as `clarify`.
CLARIFY_BELOW: Final = 0.34

# A clause of a multi-question message adds its topic only when this sure of it ...
_CLAUSE_MIN: Final = 0.50
# ... and goes before the message's main topic (as a blocker or error) only when this sure.
# Both were set on messages made by joining held-out phrasings two by two.
_JUMP_MIN: Final = 0.90
# A clause topic as important as the main one, and this sure, is ordered with it by position.
_PEER_MIN: Final = 0.70

_C: Final = 1.0  # inverse regularisation of the linear SVM, chosen by cross-validation
_CALIBRATION_FOLDS: Final = 3
_CHAR_WEIGHT: Final = 1.0
_WORD_WEIGHT: Final = 0.7


# --------------------------------------------------------------------------------------------
# Public result types


@dataclass(frozen=True)
class Slots:
    account_type: str | None = None  # "vendor" | "seller" | "both"
    agency: bool | None = None  # True when they speak as an agency for a client
    marketplaces: tuple[str, ...] = ()  # country codes in order of mention, no duplicates
    yes_no: str | None = None  # "yes" | "no" | "unsure" when the message is (or starts with) one
    error_codes: tuple[str, ...] = ()  # "MD1000", "access_denied", "Invalid Access", ...
    new_customer: bool | None = None  # True: new here / signing up; False: existing user


@dataclass(frozen=True)
class Understanding:
    topics: tuple[Topic, ...]  # most important first, at least one
    confidence: float  # 0..1 score of topics[0]
    slots: Slots


def default_phrasings_dir() -> Path:
    """`<repo>/knowledge/phrasings`, found relative to this file."""
    return Path(__file__).resolve().parent.parent / "knowledge" / "phrasings"


def read_phrasings(phrasings_dir: Path) -> list[tuple[str, Topic]]:
    """Every (phrasing, topic) pair of `<dir>/<topic-id>.txt`; `#` lines and blanks skipped."""
    rows: list[tuple[str, Topic]] = []
    for topic in Topic:
        path = phrasings_dir / f"{topic.value}.txt"
        if not path.is_file():
            raise ValueError(f"no phrasings for topic {topic.value}: {path} is missing")
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                rows.append((line, topic))
    return rows


# --------------------------------------------------------------------------------------------
# Cleaning and normalising

_BAD_CATEGORIES: Final = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})
_ASCII_CONTROL_RE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_URL_RE: Final = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_URL_ERROR_RE: Final = re.compile(r"[?&#]error=([a-z_]+)", re.IGNORECASE)
_REPEAT_RE: Final = re.compile(r"([^\W\d_])\1{2,}")
_QUOTES: Final = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "“": '"', "”": '"'})

_AMAZON_TLDS: Final = (
    "co.uk|co.jp|co.za|com.mx|com.br|com.au|com.tr|com.be|com|ca|de|fr|it|es|nl|se|pl|sa|ae|eg|in|sg|ie"
)
_AMAZON_DOMAIN_RE: Final = re.compile(r"amazon\.(" + _AMAZON_TLDS.replace(".", r"\.") + r")(?![a-z0-9])", re.IGNORECASE)


_AMAZON_TYPO_RE: Final = re.compile(
    r"\b(am[a-z0-9]{2,6})(?=\.(?:" + _AMAZON_TLDS.replace(".", r"\.") + r")(?![a-z0-9]))", re.IGNORECASE
)


def _clean(text: str) -> tuple[str, bool]:
    """NFKC, drop control and unassigned characters, rewrite URLs, squeeze letter runs.

    Returns the cleaned text (case kept, for the slot rules) and whether it looked like garbage
    (binary, control characters, nothing but punctuation).
    """
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).translate(_QUOTES)
    if text.isascii():
        text, bad = _ASCII_CONTROL_RE.subn(" ", text)
    else:
        bad = 0
        chars: list[str] = []
        for ch in text:
            if ch in "\n\t\r":
                chars.append(ch)
            elif ch == "\ufffd" or unicodedata.category(ch) in _BAD_CATEGORIES:
                bad += 1
                chars.append(" ")
            else:
                chars.append(ch)
        text = "".join(chars)
    visible = sum(1 for ch in text if not ch.isspace())
    letters = sum(1 for ch in text if ch.isalpha())
    garbage = letters == 0 or (bad + visible > 0 and bad / (bad + visible) > 0.15)
    if not garbage:
        plain = sum(1 for ch in text if ch.isalnum() or ch.isspace() or ch in ".,!?'\"-:;()/&@+%#$")
        garbage = plain < 0.7 * len(text)
    text = _REPEAT_RE.sub(r"\1\1", text)
    text = _AMAZON_TYPO_RE.sub(_fix_amazon, text)
    text = _URL_RE.sub(_rewrite_url, text)
    return text, garbage


def _fix_amazon(match: re.Match[str]) -> str:
    """ "amzon.com", "amazn.de": a misspelt Amazon domain is still a marketplace."""
    word = match.group(1)
    return "amazon" if OSA.distance(word.lower(), "amazon") <= 2 else word


def _rewrite_url(match: re.Match[str]) -> str:
    """A URL keeps only what matters: an Amazon domain (-> marketplace) and an OAuth error."""
    url = match.group(0)
    kept = [f"amazon.{m.group(1).lower()}" for m in _AMAZON_DOMAIN_RE.finditer(url)]
    kept += [m.group(1).lower() for m in _URL_ERROR_RE.finditer(url)]
    return " " + " ".join(kept) + " "


# Slang and shorthand mapped to the words the phrasings mostly use.
_SLANG: Final[dict[str, str]] = {
    "u": "you",
    "ur": "your",
    "r": "are",
    "pls": "please",
    "plz": "please",
    "plzz": "please",
    "thx": "thanks",
    "ty": "thanks",
    "acct": "account",
    "acc": "account",
    "accnt": "account",
    "amz": "amazon",
    "amzn": "amazon",
    "amzon": "amazon",
    "amazn": "amazon",
    "amazom": "amazon",
    "amazone": "amazon",
    "amzaon": "amazon",
    "amaozn": "amazon",
    "amazonn": "amazon",
    "b4": "before",
    "2day": "today",
    "cuz": "because",
    "cos": "because",
    "bc": "because",
    "coz": "because",
    "w/": "with",
    "w/o": "without",
    "dont": "don't",
    "cant": "can't",
    "wont": "won't",
    "doesnt": "doesn't",
    "didnt": "didn't",
    "isnt": "isn't",
    "im": "i'm",
    "ive": "i've",
    "hasnt": "hasn't",
    "havent": "haven't",
    "wat": "what",
    "wut": "what",
    "whats": "what's",
    "hrs": "hours",
    "hr": "hour",
    "mins": "minutes",
    "min": "minutes",
    "msg": "message",
    "pw": "password",
    "pwd": "password",
    "pswd": "password",
    "perpetual": "perpetua",
    "rn": "right now",
    "atm": "at the moment",
    "lmk": "let me know",
    "smth": "something",
    "sth": "something",
    "abt": "about",
    "thru": "through",
    "tho": "though",
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "have to",
    "ppl": "people",
    "asap": "as soon as possible",
    "info": "information",
    "q": "question",
    "qs": "questions",
    "b/c": "because",
    "yr": "year",
    "yrs": "years",
}
_WORD_RE: Final = re.compile(r"[a-z0-9][a-z0-9'/]*")
_CANON: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"\bsp\s*[-_ ]?\s*api\b|\bselling[- ]partner(?: api)?\b|\bseller[- ]partner api\b"), " spapi "),
    (re.compile(r"\bview\s*(?:&|and|\+|/|n)\s*edit\b"), " view and edit "),
    (re.compile(r"\b2fa\b|\bmfa\b|\btwo[- ]factor\b|\bmulti[- ]factor\b|\b2[- ]step\b"), " mfa "),
    (re.compile(r"\bmd\s?-?\d{3,4}\b"), " mderror "),
    (
        re.compile(
            r"\b(?:access_denied|invalid_scope|invalid_grant|invalid_client|server_error"
            r"|temporarily_unavailable|unauthorized_client|unsupported_response_type|invalid_request)\b"
        ),
        " oautherror ",
    ),
    (re.compile(r"\bdata\s+strategist\b"), " datastrategist "),
    (re.compile(r"\bbuy\s*box\b"), " buybox "),
)

_NUMBER_WORDS: Final[dict[str, float]] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "few": 3, "couple": 2, "several": 3,
    "couple of": 2,
}  # fmt: skip
_UNIT_HOURS: Final[dict[str, float]] = {
    "minute": 0.01, "min": 0.01, "hour": 1, "hr": 1, "h": 1, "day": 24, "d": 24,
    "week": 168, "wk": 168, "month": 720,
}  # fmt: skip
# A duration counts as a wait only in words like "been 3 days", "after 48h", "2 days ago".
_DURATION_RE: Final = re.compile(
    r"\b(?:(been|after|over|than|past|waited|waiting|for|since|it's|its|day|now)\s+(?:about\s+|almost\s+|nearly\s+)?)?"
    r"(\d+(?:\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|few|couple(?: of)?|several)"
    r"\s*\+?\s*(minute|min|hour|hr|h|day|d|week|wk|month)s?\b"
    r"(\s+(?:ago|later|passed|now|already|have passed|has passed|gone|since|and still|still|of (?:syncing|waiting)))?"
)
_LONG_WAIT_RE: Final = re.compile(
    r"\b(last week|(?:since|last) (?:last )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|week)"
    r"|ages|forever|for days|days now|days later|whole week|over the weekend|after the weekend"
    r"|(?:2nd|3rd|[4-9]th|second|third|fourth|fifth) day|day (?:[3-9]|[1-9][0-9]))\b"
)

_SHORT_WAIT_RE: Final = re.compile(
    r"\b(yesterday|today|this morning|this afternoon|last night|just now|an hour ago|minutes ago"
    r"|a few hours|few hours|earlier today|just connected|right after)\b"
)
_DAY_OF_MONTH_RE: Final = re.compile(r"\b([1-9]|[12][0-9]|3[01])(?:st|nd|rd|th)\b")
_WEEKDAY_RE: Final = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b")


_STILL_WAITING_RE: Final = re.compile(r"\b(?:still|no data|nothing (?:yet|there|in)|and counting)\b")
_WAIT_CONTEXT_RE: Final = re.compile(
    r"\b(?:connected|linked|sync\w*|data|import\w*|waiting|waited|still|nothing|empty|dashboard|loading|pending"
    r"|numbers|campaigns? (?:still|not|aren't|haven't))\b"
)


def _wait_marker(text: str) -> str:
    """A token for how long they say they waited: long waits (>= 48 h) point to an overdue sync."""
    if not _WAIT_CONTEXT_RE.search(text):
        return ""  # "we stopped all ads 6 months ago" is no wait for data
    longest = -1.0
    loose = _STILL_WAITING_RE.search(text) is not None
    for m in _DURATION_RE.finditer(text):
        if m.group(1) is None and m.group(4) is None and not loose:
            continue  # "90 days of history", "is 48 hours normal": a length, not a wait
        amount = m.group(2)
        number = _NUMBER_WORDS.get(amount)
        value = float(amount) if number is None else float(number)
        longest = max(longest, value * _UNIT_HOURS[m.group(3)])
    days = [int(d) for d in _DAY_OF_MONTH_RE.findall(text)]
    if len(days) >= 2 and abs(days[-1] - days[0]) >= 2:
        longest = max(longest, 24.0 * abs(days[-1] - days[0]))
    if _LONG_WAIT_RE.search(text) or len(set(_WEEKDAY_RE.findall(text))) >= 2:
        longest = max(longest, 72.0)
    if longest < 0 and _SHORT_WAIT_RE.search(text):
        longest = 1.0
    if longest < 0:
        return ""
    return " _long_wait_ " if longest >= 47 else " _short_wait_ "


def normalize(text: str) -> str:
    """Lower-cased, canonical text the model sees (expects `_clean`ed input, accepts any)."""
    text = text.lower()
    for pattern, repl in _CANON:
        text = pattern.sub(repl, text)
    words = [_SLANG.get(w, w) for w in _WORD_RE.findall(text)]
    out = " ".join(words)
    market = _NAME_RE.search(text) or _AMAZON_DOMAIN_RE.search(text) or _BARE_TLD_RE.search(text)
    # Markers are spelt with "_", which user words never contain after normalising, so their
    # character n-grams cannot collide with what a customer types ("zzz", "qwerty").
    return out + _wait_marker(out) + (" _marketplace_" if market else "")


_SPLIT_RE: Final = re.compile(
    r"[?!]+|\.(?=\s|$)|;|\n|\band also\b|\balso\b|\bplus\b|\bbtw\b|\badditionally\b"
    r"|\banother question\b|\bsecond question\b|\band one more thing\b"
    # "how long is the sync, what does it cost and is it safe": a comma or "and" before a new
    # question (not "view and edit", not "UK, DE and FR")
    r"|(?:,\s*and|,|\s+and)\s+(?=(?:how|what|what's|whats|is|do|does|can|could|where|who|why|which|will"
    r"|should|are|when|i need|we need)\b)",
    re.IGNORECASE,
)


def split_clauses(text: str) -> list[str]:
    """The clauses of a message: cut at sentence ends, '?', ';', newlines, 'also', 'plus', 'and how'."""
    parts = [p.strip(" ,.-:") for p in _SPLIT_RE.split(text)]
    return [p for p in parts if p]


# --------------------------------------------------------------------------------------------
# Slots

_CODES: Final = (
    "US", "CA", "MX", "BR", "UK", "DE", "FR", "IT", "ES", "NL", "SE", "PL", "BE", "TR", "EG",
    "SA", "AE", "IN", "ZA", "IE", "JP", "AU", "SG",
)  # fmt: skip
_TLD_CODE: Final[dict[str, str]] = {
    "co.uk": "UK", "co.jp": "JP", "co.za": "ZA", "com.mx": "MX", "com.br": "BR", "com.au": "AU",
    "com.tr": "TR", "com.be": "BE", "com": "US", "ca": "CA", "de": "DE", "fr": "FR", "it": "IT",
    "es": "ES", "nl": "NL", "se": "SE", "pl": "PL", "sa": "SA", "ae": "AE", "eg": "EG",
    "in": "IN", "sg": "SG", "ie": "IE",
}  # fmt: skip
# Names, local names and adjectives, lower case. Multi-word names first so they win.
_COUNTRY_NAMES: Final[dict[str, str]] = {
    "united states of america": "US", "united states": "US", "the states": "US", "usa": "US",
    "u.s.a.": "US", "u.s.a": "US", "u.s.": "US", "america": "US", "american": "US",
    "stateside": "US",
    "canada": "CA", "canadian": "CA",
    "mexico": "MX", "méxico": "MX", "mexican": "MX",
    "brazil": "BR", "brasil": "BR", "brazilian": "BR",
    "united kingdom": "UK", "great britain": "UK", "britain": "UK", "british": "UK",
    "england": "UK", "scotland": "UK", "wales": "UK", "u.k.": "UK", "uk": "UK", "gb": "UK",
    "germany": "DE", "german": "DE", "deutschland": "DE", "deutsch": "DE",
    "france": "FR", "french": "FR",
    "italy": "IT", "italia": "IT", "italian": "IT",
    "spain": "ES", "españa": "ES", "espana": "ES", "spanish": "ES",
    "netherlands": "NL", "the netherlands": "NL", "holland": "NL", "dutch": "NL",
    "nederland": "NL",
    "sweden": "SE", "swedish": "SE", "sverige": "SE",
    "poland": "PL", "polish": "PL", "polska": "PL",
    "belgium": "BE", "belgian": "BE", "belgique": "BE", "belgië": "BE", "belgie": "BE",
    "turkey": "TR", "turkish": "TR", "türkiye": "TR", "turkiye": "TR",
    "egypt": "EG", "egyptian": "EG",
    "saudi arabia": "SA", "saudi": "SA", "ksa": "SA",
    "united arab emirates": "AE", "emirates": "AE", "uae": "AE", "u.a.e.": "AE",
    "dubai": "AE", "emirati": "AE",
    "india": "IN", "indian": "IN",
    "south africa": "ZA", "south african": "ZA",
    "ireland": "IE", "irish": "IE",
    "japan": "JP", "japanese": "JP",
    "australia": "AU", "australian": "AU", "aussie": "AU",
    "singapore": "SG", "singaporean": "SG",
    "mx": "MX", "jp": "JP", "nl": "NL", "sg": "SG", "za": "ZA",
}  # fmt: skip
_NAME_RE: Final = re.compile(
    r"(?<![\w.])(" + "|".join(re.escape(n) for n in sorted(_COUNTRY_NAMES, key=len, reverse=True)) + r")(?![\w]|\.\w)"
)
_NOT_A_COUNTRY_BEFORE: Final = re.compile(r"(?:north|south|latin|central)\s+$")
_BARE_TLD_RE: Final = re.compile(r"(?<![\w.])\.(" + _AMAZON_TLDS.replace(".", r"\.") + r")(?![\w])")
_AMAZON_CODE_RE: Final = re.compile(
    r"\bamazon\s+(" + "|".join(c.lower() for c in _CODES) + r"|gb)\b(?!\s+(?:is|was|the|a)\b)"
)
_CAPS_CODE_RE: Final = re.compile(r"(?<![A-Za-z])(" + "|".join(_CODES) + r"|GB)(?![A-Za-z])")
_AMBIGUOUS_CAPS: Final = frozenset({"US", "IT", "IN", "BE", "SE"})
_IT_DEPARTMENT_RE: Final = re.compile(r"\s*(?:team|department|dept|guy|people|support|admin|person)")
# Names long enough to be matched fuzzily, and English words near them that must not be.
_FUZZY_NAMES: Final = tuple(n for n in _COUNTRY_NAMES if len(n) >= 5 and "." not in n)
_FUZZY_STOP: Final = frozenset(
    {
        "turnkey", "germane", "prance", "trance", "franc", "fiance", "stain", "sprain", "slain",
        "indie", "island", "inland", "italic", "roland", "japes", "saucy", "dutchy", "medico",
        "canal", "swede", "spawn", "spains", "polis", "polished", "indiana", "states", "united",
        "untied", "south", "arabia", "great", "kingdom", "brazen", "waled", "whales", "walks",
        "wakes", "scotch", "dubbed", "grand", "china", "chinese", "korea", "korean", "russia",
        "russian", "austria", "austrian", "israel", "brain", "training", "trading", "trench",
        "herman", "hutch", "brutish", "sauce", "frances", "turkeys", "plain", "swain",
    }
)  # fmt: skip
_FUZZY_TOKEN_RE: Final = re.compile(r"[a-zà-ÿ]{5,}")
_FUZZY_PAIR_RE: Final = re.compile(r"(?=\b([a-z]{4,}\s+[a-z]{4,})\b)")
_FUZZY_PAIRS: Final = ("united states", "united kingdom", "south africa", "saudi arabia", "great britain")


def _max_typos(name: str) -> int:
    return 1 if len(name) <= 7 else 2


_FUZZY_BY_INITIAL: Final[dict[str, tuple[str, ...]]] = {
    initial: tuple(n for n in _FUZZY_NAMES if n[0] == initial) for initial in {n[0] for n in _FUZZY_NAMES}
}


@functools.lru_cache(maxsize=8192)
def _fuzzy_country(token: str) -> str | None:
    """The country name a misspelt word stands for ("germny" -> "germany"), if any."""
    names = _FUZZY_BY_INITIAL.get(token[:1])
    if not names or token in _FUZZY_STOP or token in _COUNTRY_NAMES:
        return None
    best = process.extractOne(token, names, scorer=OSA.distance, score_cutoff=2)
    if best is None:
        return None
    name, distance, _ = best
    if distance > _max_typos(name) or abs(len(name) - len(token)) > 2:
        return None
    return name


@functools.lru_cache(maxsize=4096)
def _fuzzy_pair(pair: str) -> str | None:
    """The two-word country name a misspelt pair stands for ("untied states")."""
    if pair[:1] not in "usg" or pair in _COUNTRY_NAMES:
        return None
    best = process.extractOne(pair, _FUZZY_PAIRS, scorer=OSA.distance, score_cutoff=2)
    return None if best is None else best[0]


def extract_marketplaces(text: str) -> tuple[str, ...]:
    """Country codes in order of mention, without duplicates ("europe" alone is not one)."""
    low = text.lower()
    found: list[tuple[int, str]] = []
    for m in _AMAZON_DOMAIN_RE.finditer(low):
        found.append((m.start(), _TLD_CODE[m.group(1)]))
    for m in _BARE_TLD_RE.finditer(low):
        found.append((m.start(), _TLD_CODE[m.group(1)]))
    for m in _AMAZON_CODE_RE.finditer(low):
        code = m.group(1).upper()
        found.append((m.start(1), "UK" if code == "GB" else code))
    taken = [range(s, s + 12) for s, _ in found]
    for m in _NAME_RE.finditer(low):
        name = m.group(1)
        if name in ("america", "american") and _NOT_A_COUNTRY_BEFORE.search(low[: m.start()]):
            continue
        if any(m.start() in r for r in taken):
            continue
        found.append((m.start(), _COUNTRY_NAMES[name]))
    mostly_caps = _mostly_upper(text)
    for m in _CAPS_CODE_RE.finditer(text):
        code = m.group(1)
        if code in _AMBIGUOUS_CAPS and mostly_caps:
            continue
        if code == "IT" and _IT_DEPARTMENT_RE.match(text, m.end()):
            continue
        if code == "US" and re.search(r"\b(?:help|tell|let|call|email|contact|give|show)\s+$", low[: m.start()]):
            continue
        found.append((m.start(), "UK" if code == "GB" else code))
    for m in _FUZZY_TOKEN_RE.finditer(low):
        name = _fuzzy_country(m.group(0))
        if name is not None:
            found.append((m.start(), _COUNTRY_NAMES[name]))
    for m in _FUZZY_PAIR_RE.finditer(low):
        pair_name = _fuzzy_pair(" ".join(m.group(1).split()))
        if pair_name is not None:
            found.append((m.start(1), _COUNTRY_NAMES[pair_name]))
    codes: list[str] = []
    for _, code in sorted(found):
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def _mostly_upper(text: str) -> bool:
    """Shouting ("HELP US IT DOESNT WORK"): then capitals say nothing about country codes."""
    letters = [ch for word in re.findall(r"[^\W\d_]{3,}", text) for ch in word]
    return len(letters) >= 6 and sum(ch.isupper() for ch in letters) > 0.6 * len(letters)


_VENDOR_RE: Final = re.compile(
    r"\bv[ae]nd[oe]?rs?\b|\b1p\b|\b1st[- ]party\b|\bfirst[- ]party\b|\bvc\b|\bvendor[- ]?central\b"
    r"|\bwholesale\b|\bsuppliers?\b|\bsell(?:s|ing)? (?:directly |wholesale )?to amazon\b"
)
_SELLER_RE: Final = re.compile(
    r"\bsel+e?rs?\b|\b3p\b|\b3rd[- ]party\b|\bthird[- ]party\b|\bsc\b|\bfba\b|\bfbm\b"
    r"|\bseller[- ]?central\b|\bsellercentral\b"
)
_NEGATED_BEFORE: Final = re.compile(r"\b(?:not|no|isn't|aren't|never)\s+(?:an?\s+|the\s+)?$")
_BOTH_RE: Final = re.compile(r"\b(?:both|hybrid|as well as|each)\b")
_CHOICE_BETWEEN: Final = re.compile(r"\b(?:or|vs\.?|versus|difference|differ|between)\b")
_CORRECTION_RE: Final = re.compile(
    r"\b(?:actually|instead|wrong|mistake|mistakenly|accident|accidentally|by error|meant|rather|not)\b"
)
_STATED_BEFORE: Final = re.compile(
    r"\b(?:we are|we're|were|i am|i'm|im|we use|our account is|it is|it's|its)\s+(?:an?\s+|on\s+|using\s+)?$"
)
_BOTH_ALONE_RE: Final = re.compile(r"^\W*(?:we have |we're |we are |it's |its )?(?:both|hybrid)\W*$")
_THIRD_PARTY_TOOL: Final = re.compile(r"third[- ]party\s+(?:app|tool|software|integrat|access|compan)")


def extract_account_type(text: str) -> str | None:
    low = text.lower()
    if _BOTH_ALONE_RE.match(low):
        return "both"
    mentions: list[tuple[int, int, str]] = []
    for kind, pattern in (("vendor", _VENDOR_RE), ("seller", _SELLER_RE)):
        for m in pattern.finditer(low):
            if kind == "seller" and _THIRD_PARTY_TOOL.match(low, m.start()):
                continue
            if _NEGATED_BEFORE.search(low[: m.start()]):
                continue
            mentions.append((m.start(), m.end(), kind))
    kinds = {k for _, _, k in mentions}
    if not kinds:
        return None
    if len(kinds) == 1:
        return next(iter(kinds))
    mentions.sort()
    stated = {k for start, _, k in mentions if _STATED_BEFORE.search(low[max(0, start - 20) : start])}
    if len(stated) == 1:
        return next(iter(stated))  # "1P or 3P, which one? we are Vendor Central"
    first_v = min(s for s, _, k in mentions if k == "vendor")
    first_s = min(s for s, _, k in mentions if k == "seller")
    lo, hi = sorted((first_v, first_s))
    between = low[lo:hi]
    if _CHOICE_BETWEEN.search(between) or _CHOICE_BETWEEN.search(low[max(0, lo - 25) : lo]):
        return None
    if _CORRECTION_RE.search(low) and not _BOTH_RE.search(low):
        return mentions[-1][2]  # "picked seller by mistake, we're actually vendor"
    return "both"


_AGENCY_YES_RE: Final = re.compile(
    r"(?<!not an )\bagenc(?:y|ies)\b|\b(?:our|my|a|the|this|their)\s+(?:clients?|customer's)\b|\bclients?'s?\b"
    r"|\bon behalf of\b|\bfreelancer\b|\bconsultan(?:t|cy)\b|\bwe manage (?:ads|amazon|accounts|brands)\b"
    r"|\bhired us\b|\b(?:run|runs|running|manage|managing|handle|handling) (?:their|the brand's|the client's) "
    r"(?:ppc|ads|advertising|amazon|account)\b|\bbrands? we (?:manage|work for|run)\b"
)
_AGENCY_NOT_CLIENT: Final = re.compile(
    r"(?:email|unauthorized|unauthorised|invalid|oauth)[ _]client|client[ _]?(?:id|secret)"
)
_NOT_AGENCY_RE: Final = re.compile(r"\b(?:not|no|isn't|aren't|never)\s+(?:an?\s+|using an?\s+)?agenc(?:y|ies)\b")
_AGENCY_NO_RE: Final = re.compile(
    r"\bprivate owner\b|\bnot an agency\b|\bno agency\b|\bmy own (?:account|brand|store|business|company)\b"
    r"|\bour own (?:account|brand|store|business|company)\b|\bwe are the brand\b|\bwe're the brand\b"
    r"|\bi own the (?:account|brand|business)\b|\bbrand owner\b"
)


def extract_agency(text: str) -> bool | None:
    low = _AGENCY_NOT_CLIENT.sub(" ", text.lower())
    low = _NOT_AGENCY_RE.sub(" not an agency ", low)
    yes = _AGENCY_YES_RE.search(low) is not None
    no = _AGENCY_NO_RE.search(low) is not None
    if yes and no:
        # "agency or private owner?" asks which one; "the brand owner must grant us" is an agency
        return None if re.search(r"\b(?:or|vs\.?|versus)\b", low) else True
    if yes:
        return True
    if no:
        return False
    return None


_ANSWER_END: Final = r"(?=\s*(?:$|[,.!;:)\-]|\s(?:please|pls|thanks|thank|sir|mate|i|we|it|that)\b))"
_UNSURE_RE: Final = re.compile(
    r"^(?:not sure|i'?m not sure|im not sure|unsure|idk|i don'?t know|i dont know|dunno|no idea"
    r"|not certain|no clue|hmm+ not sure|i'?m unsure|perhaps|possibly|maybe)\b"
)
_NO_RE: Final = re.compile(
    r"^(?:nope|nah|naw|not yet|not really|no thanks|no thank you|negative|not at all)\b"
    r"|^no(?=\s*$|\s*[,.!;:\-]|\s+(?:i|we|it|its|it's|not|thanks|thank|sorry|still|they|that|this"
    r"|haven't|havent|didn't|didnt|don't|dont|nothing|never|because|just|only|but|sir|mate|we're"
    r"|i'm|im|i've|ive|one|none|nobody)\b)|^n$"
)
_YES_RE: Final = re.compile(
    r"^(?:yes|yess|yep|yeah|yea|yup|yah|ya|yas|ja|oui|si|absolutely|definitely|of course|affirmative"
    r"|please do|do it|go ahead|sounds good|let's do it|lets do it)\b"
    r"|^(?:ok|okay|k|kk|sure|alright|all right|correct|right|exactly|indeed|fine|great|perfect)"
    + _ANSWER_END
    + r"|^(?:ok|okay|sure)\s+(?:do it|go|go ahead|let's|lets|sounds|send|please)\b|^y$"
    r"|^(?:done|all done|i did|we did|did it|i did it|we did it|they did|they did it|finished)" + _ANSWER_END
)


def extract_yes_no(text: str) -> str | None:
    low = text.lower().strip().lstrip("\"'([-* ")
    if not low:
        return None
    if _UNSURE_RE.match(low):
        # "maybe the region is wrong?" is not an answer; "maybe" or "maybe, not sure" is
        head = low.split()[0]
        if head in ("maybe", "perhaps", "possibly") and not re.match(r"^\w+\s*(?:$|[,.!;?]|\s+not\b)", low):
            return None
        return "unsure"
    if _NO_RE.match(low):
        return "no"
    if _YES_RE.match(low):
        return "yes"
    return None


_MD_RE: Final = re.compile(r"\bmd\s?-?(\d{3,4})\b", re.IGNORECASE)
_OAUTH_RE: Final = re.compile(
    r"\b(access[_ ]denied|invalid[_ ]scope|invalid[_ ]grant|invalid[_ ]client|server_error"
    r"|temporarily[_ ]unavailable|unauthori[sz]ed[_ ]client|invalid access)\b",
    re.IGNORECASE,
)


def extract_error_codes(text: str) -> tuple[str, ...]:
    found: list[tuple[int, str]] = [(m.start(), "MD" + m.group(1)) for m in _MD_RE.finditer(text)]
    for m in _OAUTH_RE.finditer(text):
        raw = m.group(1).lower().replace(" ", "_").replace("unauthorised", "unauthorized")
        found.append((m.start(), "Invalid Access" if raw == "invalid_access" else raw))
    codes: list[str] = []
    for _, code in sorted(found):
        if code not in codes:
            codes.append(code)
    return tuple(codes)


_NEW_YES_RE: Final = re.compile(
    r"\bnew (?:here|customer|client|user|to perpetua|to (?:the|your) (?:platform|tool|app))\b"
    r"|\b(?:i'?m|im|we'?re|we are|i am) new\b|\bjust (?:signed|sign) up\b|\bsign(?:ing|ed)? up\b"
    r"|\bsignup\b|\bfirst time (?:here|using|user|with)\b|\bdon'?t have an? (?:perpetua )?(?:account|login)\b"
    r"|\bdo not have an? (?:perpetua )?(?:account|login)\b|\bno (?:perpetua )?account yet\b"
    r"|\bnot a customer yet\b|\bcreate an? (?:perpetua )?account\b|\bhaven'?t (?:got|created) an? account\b"
    r"|\bjust (?:bought|purchased|joined)\b|\bfree trial\b|\bstarting (?:a|the|our) trial\b"
)
_NEW_NO_RE: Final = re.compile(
    r"\balready (?:have|got|use|using|a customer|a user|signed up|registered|on perpetua|with you|log in)\b"
    r"|\bexisting (?:user|customer|client|perpetua|login)\b|\bcurrent (?:customer|user)\b"
    r"|\b(?:add|adding|connect|connecting|link|plug in) (?:another|a second|one more|an additional|additional"
    r"|a new|more|new) (?:account|marketplace|brand|store|region|country|seller|vendor)\b"
    r"|\bbeen using (?:perpetua|you|your)\b|\bwe use perpetua\b|\bhave a (?:perpetua )?(?:login|account) already\b"
    r"|\bi have a (?:perpetua )?login\b|\balready (?:connected|use perpetua)\b|\bwe'?re already\b"
)


def extract_new_customer(text: str) -> bool | None:
    low = text.lower()
    no = _NEW_NO_RE.search(low)
    yes = _NEW_YES_RE.search(low)
    if no and yes:
        return no.start() > yes.start()  # the later statement corrects the earlier one
    if yes:
        return True
    if no:
        return False
    return None


def extract_slots(text: str) -> Slots:
    """Every slot value the message states; rule- and fuzzy-based, no training needed."""
    cleaned, garbage = _clean(text)
    if garbage:
        return Slots()
    return _extract(cleaned)


def _extract(cleaned: str) -> Slots:
    return Slots(
        account_type=extract_account_type(cleaned),
        agency=extract_agency(cleaned),
        marketplaces=extract_marketplaces(cleaned),
        yes_no=extract_yes_no(cleaned),
        error_codes=extract_error_codes(cleaned),
        new_customer=extract_new_customer(cleaned),
    )


# Words that carry no request of their own: a message made only of these and slot values is an
# answer ("vendor", "we're 3P", "amazon.de and .fr"), not a question.
_FILLER: Final = frozenset(
    """a an the and or & + , we we're were i i'm im am are is it's its it our my us me
    on in at from for of to with only just mainly mostly also both too as well sell selling
    based store stores shop account accounts acct marketplace marketplaces market markets country
    countries amazon ok so yes yeah yep no nope hi hello hey thanks thank you please pls type
    one ones side central business region com co de fr uk
    """.split()
)  # fmt: skip
_SLOT_WORD_RE: Final = re.compile(
    _VENDOR_RE.pattern + "|" + _SELLER_RE.pattern + r"|\bparty\b|\b(?:first|third|1st|3rd)\b"
)

_LOWER_CODE_RE: Final = re.compile(r"(?<![a-z])(?:" + "|".join(c.lower() for c in _CODES) + r"|gb)(?![a-z])")


def _only_slot_words(cleaned: str) -> bool:
    """Whether the text is nothing but an account type and/or marketplaces ("we're 3P", "UK+DE")."""
    low = cleaned.lower()
    low = _AMAZON_DOMAIN_RE.sub(" ", low)
    low = _BARE_TLD_RE.sub(" ", low)
    low = _NAME_RE.sub(" ", low)
    low = _SLOT_WORD_RE.sub(" ", low)
    low = _LOWER_CODE_RE.sub(" ", low)
    rest = [w for w in re.findall(r"[a-z']+", low) if w not in _FILLER]
    # misspelt country names ("Germny", "Swedn") are not removed above
    return all(_fuzzy_country(w) is not None for w in rest)


# --------------------------------------------------------------------------------------------
# Topics

_HANDOFF_RE: Final = re.compile(
    r"\b(?:human|real person|a person|actual person|agent|representative|operator|datastrategist|strategist"
    r"|support team|call me|phone|escalat\w*|live chat|talk to|speak (?:to|with)|contact me|reach out to me)\b"
    r"|\b(?:can|could|need|want|get|have|let|please|pls)\s+(?:someone|somebody|a human|a person)\b"
)
_PLEASANTRY_RE: Final = re.compile(
    r"\W*(?:hi|hello|hey|hiya|yo|dear|greetings|good (?:morning|afternoon|evening|day)|thanks|thank you|thx|ty"
    r"|cheers|regards|kind regards|best regards|many thanks|appreciate it|sorry)\b"
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


class _Vectorizer:
    """A fitted TfidfVectorizer read out for fast scoring of one text.

    Same numbers as `TfidfVectorizer.transform` (sublinear tf, idf, l2 norm), without building
    a sparse matrix. Character n-grams of the `char_wb` kind never cross a space, so the columns
    of each word are worked out once and kept (a bounded cache; words repeat a lot).
    """

    _CACHE_LIMIT: Final = 50_000

    def __init__(self, fitted: TfidfVectorizer, offset: int, weight: float, per_word: bool) -> None:
        self.analyze: Callable[[str], list[str]] = fitted.build_analyzer()
        self.columns: dict[str, int] = {term: offset + int(col) for term, col in fitted.vocabulary_.items()}
        self.idf: dict[int, float] = {offset + col: float(v) for col, v in enumerate(fitted.idf_)}
        self.weight = weight
        self.per_word = per_word
        self._word_columns: dict[str, list[int]] = {}

    def _columns_of_word(self, word: str) -> list[int]:
        cols = self._word_columns.get(word)
        if cols is None:
            columns = self.columns
            cols = [columns[t] for t in self.analyze(word) if t in columns]
            if len(self._word_columns) >= self._CACHE_LIMIT:
                self._word_columns.clear()
            self._word_columns[word] = cols
        return cols

    def warm(self, texts: Iterable[str]) -> None:
        if self.per_word:
            for text in texts:
                for word in text.split():
                    self._columns_of_word(word)

    def features(self, text: str, index: list[int], value: list[float]) -> None:
        counts: Counter[int] = Counter()
        if self.per_word:
            for word in text.split():
                counts.update(self._columns_of_word(word))
        else:
            columns = self.columns
            counts.update(columns[t] for t in self.analyze(text) if t in columns)
        if not counts:
            return
        idf = self.idf
        vals = [idf[c] if n == 1 else idf[c] * (1.0 + math.log(n)) for c, n in counts.items()]
        scale = self.weight / math.sqrt(sum(v * v for v in vals))
        index.extend(counts)
        value.extend(v * scale for v in vals)


def _vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=False, dtype=np.float64)
    word = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        sublinear_tf=True,
        lowercase=False,
        token_pattern=r"(?u)\b\w+\b",
        dtype=np.float64,
    )
    return char, word


def _fit_temperature(x: object, y: NDArray[np.str_]) -> float:
    """Temperature scaling: the factor on the SVM scores whose softmax best predicts held-out labels.

    The margins of a linear SVM are not probabilities; a softmax over margins times one fitted
    factor is (Guo et al. 2017, "On calibration of modern neural networks"). The factor is fitted
    on out-of-fold scores, so it reflects phrasings the model has not seen.
    """
    from scipy.optimize import minimize_scalar
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    classes, y_idx = np.unique(y, return_inverse=True)
    smallest = int(np.bincount(y_idx).min())
    folds = min(_CALIBRATION_FOLDS, smallest)
    if folds < 2:
        return 1.0
    scores = np.zeros((len(y), len(classes)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train, held in splitter.split(np.zeros(len(y)), y_idx):
        model = LinearSVC(C=_C, random_state=0).fit(x[train], y_idx[train])  # type: ignore[index]
        part = np.full((len(held), len(classes)), -10.0)
        part[:, model.classes_] = model.decision_function(x[held])  # type: ignore[index]
        scores[held] = part

    def nll(t: float) -> float:
        z = scores * t
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(y)), y_idx].mean())

    best = minimize_scalar(nll, bounds=(0.1, 50.0), method="bounded")
    return float(best.x)


class Classifier:
    """Understands one customer message: its topics, how sure, and the slot values it states."""

    def __init__(
        self,
        phrasings_dir: Path,
        *,
        clarify_below: float = CLARIFY_BELOW,
        rows: Iterable[tuple[str, Topic]] | None = None,
    ) -> None:
        """Read the phrasings (or take `rows`, for cross-validation) and train."""
        from scipy.sparse import hstack
        from sklearn.svm import LinearSVC

        data = list(rows) if rows is not None else read_phrasings(phrasings_dir)
        if not data:
            raise ValueError("no phrasings to train on")
        self.clarify_below = clarify_below
        texts = [normalize(_clean(text)[0]) for text, _ in data]
        labels = [topic.value for _, topic in data]
        char, word = _vectorizers()
        x_char = char.fit_transform(texts) * _CHAR_WEIGHT
        x_word = word.fit_transform(texts) * _WORD_WEIGHT
        x = hstack([x_char, x_word]).tocsr()
        y = np.asarray(labels)
        self.temperature = _fit_temperature(x, y)
        model = LinearSVC(C=_C, random_state=0).fit(x, y)
        self._topics: tuple[Topic, ...] = tuple(Topic(c) for c in model.classes_)
        self._index = {t: i for i, t in enumerate(self._topics)}
        self._vecs = (
            _Vectorizer(char, 0, _CHAR_WEIGHT, per_word=True),
            _Vectorizer(word, len(char.vocabulary_), _WORD_WEIGHT, per_word=False),
        )
        self._vecs[0].warm(texts)
        self._known_words = frozenset(w for text in texts for w in text.split() if not w.startswith("_"))
        self._long_known_words = tuple(sorted(w for w in self._known_words if len(w) >= 4))
        self._coef_t: NDArray[np.float64] = np.ascontiguousarray(model.coef_.T, dtype=np.float64)
        self._intercept: NDArray[np.float64] = np.asarray(model.intercept_, dtype=np.float64)

    @property
    def topics(self) -> tuple[Topic, ...]:
        return self._topics

    def probabilities(self, text: str) -> NDArray[np.float64]:
        """Probability of every topic (in `self.topics` order) for text already `normalize`d."""
        index: list[int] = []
        value: list[float] = []
        for vec in self._vecs:
            vec.features(text, index, value)
        scores = self._intercept.copy()
        if index:
            scores += np.asarray(value) @ self._coef_t[index]
        scores *= self.temperature
        scores -= scores.max()
        exp = np.exp(scores)
        result: NDArray[np.float64] = exp / exp.sum()
        return result

    def top(self, text: str) -> tuple[Topic, float]:
        """The model's best topic for raw text as a whole, and its probability (no rules)."""
        probs = self.probabilities(normalize(_clean(text)[0]))
        best = int(probs.argmax())
        return self._topics[best], float(probs[best])

    def understand(self, text: str) -> Understanding:
        cleaned, garbage = _clean(text if isinstance(text, str) else "")
        if garbage:
            return Understanding((Topic.CLARIFY,), 0.0, Slots())
        slots = _extract(cleaned)
        clauses = split_clauses(cleaned)
        if not clauses:
            return Understanding((Topic.CLARIFY,), 0.0, slots)
        if not self._has_known_word(cleaned) and slots == Slots():
            return Understanding((Topic.CLARIFY,), 0.0, slots)  # "qwerty", "zzz", another language
        if (slots.account_type or slots.marketplaces) and _only_slot_words(cleaned):
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
                _Clause(i, c, self.probabilities(normalize(c)), _is_question(cleaned, c)) for i, c in enumerate(clauses)
            ]
        content = [c for c in parts if not self._is_pleasantry(c)]
        core = [c for c in content if not self._is_context(c)]
        views: list[list[_Clause]] = [v for v in (core, content) if v and len(v) < len(parts)]
        # the first view sure of a real topic decides; failing that, the surest real one; else all
        scored: list[tuple[str, NDArray[np.float64]]] = []
        for view in [*views, parts]:
            text_of_view = " ".join(normalize(c.text) for c in view) if view is not parts else normalize(cleaned)
            view_probs = self.probabilities(text_of_view)
            scored.append((text_of_view, view_probs))
            if self._topics[int(view_probs.argmax())] not in _VAGUE and float(view_probs.max()) >= _CLAUSE_MIN:
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

        def offer(topic: Topic, p: float, rank: tuple[int, int, int]) -> None:
            if topic not in found or rank < found[topic][0]:
                found[topic] = (rank, p)

        main_tier = _PRIORITY.get(top, _QUESTION_TIER)
        if top_p >= self.clarify_below:
            # the main topic sits where it is asked, so equal questions keep the customer's order
            asked_at = [c.position for c in content if int(c.probs.argmax()) == best and c.probs[best] >= _CLAUSE_MIN]
            offer(top, top_p, (2, 0, min(asked_at, default=0)))
        handoff_p = float(probs[self._index[Topic.HANDOFF_REQUEST]])
        has_answers = bool(slots.account_type or slots.marketplaces)
        if len(content) > 1:
            for clause in content:
                c_best = int(clause.probs.argmax())
                c_top, c_p = self._topics[c_best], float(clause.probs[c_best])
                handoff_p = max(handoff_p, float(clause.probs[self._index[Topic.HANDOFF_REQUEST]]))
                answers = _extract_answer_topics(clause.text) if has_answers and _only_slot_words(clause.text) else ()
                for answer in answers:
                    offer(answer, c_p, (3, _ANSWER_TIER, clause.position))
                if answers or c_p < _CLAUSE_MIN or c_top in (Topic.CLARIFY, Topic.OFF_TOPIC):
                    continue
                if self._is_context(clause):
                    offer(c_top, c_p, (3, _ANSWER_TIER, clause.position))
                    continue
                tier = _PRIORITY.get(c_top, _QUESTION_TIER)
                # a one- or two-word fragment ("Admin access? Campaigns?") elaborates, never leads
                leads = tier < main_tier and c_p >= _JUMP_MIN and len(clause.text.split()) >= 3
                peer = tier == main_tier and c_p >= _PEER_MIN
                if leads:
                    offer(c_top, c_p, (1, tier, clause.position))
                elif peer:
                    offer(c_top, c_p, (2, 0, clause.position))
                else:
                    offer(c_top, c_p, (3, tier, clause.position))
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
        if not found:
            if slots.yes_no is not None and len(whole.split()) <= 4:
                return Understanding((top,), top_p, slots)  # a bare answer: the caller reads yes_no
            return Understanding((Topic.CLARIFY,), top_p, slots)
        ordered = sorted(found, key=lambda t: found[t][0])
        return Understanding(tuple(ordered), found[ordered[0]][1], slots)

    def _has_known_word(self, cleaned: str) -> bool:
        """Whether any word is one the phrasings use, exactly or with a typo or two."""
        words = normalize(cleaned).split()
        if any(w in self._known_words for w in words):
            return True
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
        words = len(clause.text.split())
        best = self._topics[int(clause.probs.argmax())]
        if _PLEASANTRY_RE.match(clause.text.lower()):
            # "hi team", "Hi there, I'm Sarah from Acme", "thanks a lot"
            return words <= 4 or (words <= 12 and best in (Topic.CLARIFY, Topic.OFF_TOPIC))
        return words <= 6 and best is Topic.CLARIFY  # "it doesn't work", "what should we do"


@dataclass(frozen=True)
class _Clause:
    position: int
    text: str
    probs: NDArray[np.float64]
    question: bool


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
