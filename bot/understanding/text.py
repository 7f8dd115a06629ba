"""Text before the model sees it: cleaning, normalising and cutting a message into clauses.

`clean` keeps the case (the slot rules read capitals); `normalize` gives the lower-cased,
canonical words the model is trained on and scores. Both change what the model learns, so this
module's source is part of the model cache key (`cache.py`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final

from rapidfuzz.distance import OSA

from bot.understanding.glossary import glossary
from bot.understanding.markets import AMAZON_DOMAIN_RE, AMAZON_TLDS, BARE_TLD_RE, NAME_RE

# Text past this many characters is not read: a real question is never that long, and it keeps
# a pasted log or a 1 MB upload cheap.
MAX_CHARS: Final = 2000

_BAD_CATEGORIES: Final = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})
_ASCII_CONTROL_RE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_URL_RE: Final = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_URL_ERROR_RE: Final = re.compile(r"[?&#]error=([a-z_]+)", re.IGNORECASE)
_REPEAT_RE: Final = re.compile(r"([^\W\d_])\1{2,}")
_QUOTES: Final = str.maketrans(
    {"’": "'", "‘": "'", "`": "'", "´": "'", "“": '"', "”": '"', "؟": "?", "،": ",", "؛": ";"}  # Arabic ? , ;
)


_AMAZON_TYPO_RE: Final = re.compile(
    r"\b(am[a-z0-9]{2,6})(?=\.(?:" + AMAZON_TLDS.replace(".", r"\.") + r")(?![a-z0-9]))", re.IGNORECASE
)


def clean(text: str) -> tuple[str, bool]:
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
    kept = [f"amazon.{m.group(1).lower()}" for m in AMAZON_DOMAIN_RE.finditer(url)]
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
# Latin letters with accents (müssen, région, españa) stay whole words; a run of Chinese or Japanese
# characters is one "word" whose character n-grams the model reads; Arabic words are words too.
_WORD_RE: Final = re.compile(
    r"[a-z0-9\u00df-\u00f6\u00f8-\u024f][a-z0-9\u00df-\u00f6\u00f8-\u024f'/]*|[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]+"
    r"|[\u0620-\u065f\u066e-\u06d3]+"
)
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


_WENT_FINE_RE: Final = re.compile(
    r"\b(?:fine|worked|went (?:fine|well|smoothly|ok)|without (?:any )?(?:problems?|issues?)|no problems?"
    r"|successfully|all good|no issues?)\b"
)
_STILL_WAITING_RE: Final = re.compile(r"\b(?:still|no data|nothing (?:yet|there|in)|and counting)\b")
_WAIT_CONTEXT_RE: Final = re.compile(
    r"\b(?:connected|linked|sync\w*|data|import\w*|waiting|waited|still|nothing|empty|dashboard|loading|pending"
    r"|numbers|campaigns? (?:still|not|aren't|haven't))\b"
)


def _wait_marker(text: str) -> str:
    """A token for how long they say they waited: long waits (>= 48 h) point to an overdue sync."""
    if not _WAIT_CONTEXT_RE.search(text):
        return ""  # "we stopped all ads 6 months ago" is no wait for data
    if _WENT_FINE_RE.search(text) and not _STILL_WAITING_RE.search(text):
        return ""  # "connected UK fine last week": a connection that worked, not a wait for data
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


# Words that open a sentence and ask nothing ("Separately, we want to add amazon.it", "ok so how long"):
# left out so the model reads what follows them.
_OPENERS_RE: Final = re.compile(
    r"^(?:\W*(?:ok(?:ay)?|so|well|also|separately|anyway|btw|by the way|one more thing|another thing"
    r"|before anything else|first of all|quick question|one question|real quick)\b[\s,.:;!-]*)+(?=\w)"
)


@functools.lru_cache(maxsize=1024)  # a turn reads the same text more than once (known words, views)
def normalize(text: str) -> str:
    """Lower-cased, canonical text the model sees (expects `clean`ed input, accepts any)."""
    text = _OPENERS_RE.sub("", text.lower())
    market = NAME_RE.search(text) or AMAZON_DOMAIN_RE.search(text) or BARE_TLD_RE.search(text)
    words_of = glossary()
    text = words_of.translate_text(text)
    for pattern, repl in _CANON:
        text = pattern.sub(repl, text)
    words = [words_of.translate_word(_SLANG.get(w, w).rstrip("'")) for w in _WORD_RE.findall(text)]
    out = " ".join(words)
    # Markers are spelt with "_", which user words never contain after normalising, so their
    # character n-grams cannot collide with what a customer types ("zzz", "qwerty").
    return out + _wait_marker(out) + (" _marketplace_" if market else "")


_SPLIT_RE: Final = re.compile(
    r"[?!]+|\.(?=\s|$)|。|;|\n|\band also\b|\balso\b|\bplus\b|\bbtw\b|\badditionally\b"
    r"|\banother question\b|\bsecond question\b|\band one more thing\b"
    # "how long is the sync, what does it cost and is it safe": a comma or "and" before a new
    # question (not "view and edit", not "UK, DE and FR")
    r"|(?:,\s*and|,|\s+and)\s+(?=(?:how|what|what's|whats|is|do|does|can|could|where|who|why|which|will"
    r"|should|are|when|i need|we need|i want|we want|i'd like|we'd like|i would like|we would like)\b)"
    # "invite my team + group our 3 brands into one view?": a plus between two requests
    r"|\s\+\s+(?=[a-z]{3,}\s+\w+\s+\w+)"
    # the same in the other languages customers write in: "und was kostet", "y cuánto", "et combien", "e quanto",
    # "aur kitna"; "außerdem", "además", "inoltre", "还有", "另外", "それと": also
    r"|(?:,\s*|\s+)(?:und|y|et|e|aur)\s+(?=(?:wie|was|wo|wann|welche\w*|warum|kann|c[oó]mo|qu[eé]|cu[aá]nt\w*|d[oó]nde"
    r"|cu[aá]ndo|comment|combien|o[uù]|quand|quel\w*|pourquoi|come|quanto|quale|dove|quando|perch[eé]|kaise|kya|kab"
    r"|kitna|kahan)\b)"
    r"|\baußerdem\b|\bausserdem\b|\badem[aá]s\b|\binoltre\b|还有|另外|それと|それから",
    re.IGNORECASE,
)


def split_clauses(text: str) -> list[str]:
    """The clauses of a message: cut at sentence ends, '?', ';', newlines, 'also', 'plus', 'and how'."""
    parts = [p.strip(" ,.-:") for p in _SPLIT_RE.split(text)]
    return [p for p in parts if p]
