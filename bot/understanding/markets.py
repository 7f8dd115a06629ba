"""Marketplaces: which Amazon countries a message names, by domain, code, name or misspelt name.

Rules plus rapidfuzz for misspelt country names; no training. The name and domain patterns are
also read by `text.normalize` (a `_marketplace_` marker) and by `slots.only_slot_words`.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from rapidfuzz import process
from rapidfuzz.distance import OSA

AMAZON_TLDS: Final = (
    "co.uk|co.jp|co.za|com.mx|com.br|com.au|com.tr|com.be|com|ca|de|fr|it|es|nl|se|pl|sa|ae|eg|in|sg|ie"
)
AMAZON_DOMAIN_RE: Final = re.compile(r"amazon\.(" + AMAZON_TLDS.replace(".", r"\.") + r")(?![a-z0-9])", re.IGNORECASE)

CODES: Final = (
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
COUNTRY_NAMES: Final[dict[str, str]] = {
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
    # the names customers write in their own language
    "estados unidos": "US", "eeuu": "US", "ee.uu.": "US", "stati uniti": "US", "états-unis": "US",
    "etats-unis": "US", "vereinigte staaten": "US", "kanada": "CA", "messico": "MX", "mexique": "MX",
    "mexiko": "MX", "brasilien": "BR", "brésil": "BR", "reino unido": "UK", "regno unito": "UK",
    "royaume-uni": "UK", "royaume uni": "UK", "großbritannien": "UK", "grossbritannien": "UK",
    "vereinigtes königreich": "UK", "alemania": "DE", "allemagne": "DE", "germania": "DE",
    "frankreich": "FR", "francia": "FR", "italien": "IT", "italie": "IT", "spanien": "ES",
    "espagne": "ES", "spagna": "ES", "niederlande": "NL", "paesi bassi": "NL", "países bajos": "NL",
    "pays-bas": "NL", "schweden": "SE", "suède": "SE", "polen": "PL", "pologne": "PL", "belgien": "BE",
    "türkei": "TR", "ägypten": "EG", "saudi-arabien": "SA", "arabie saoudite": "SA",
    "arabia saudita": "SA", "emiratos": "AE", "indien": "IN", "inde": "IN", "irland": "IE",
    "irlanda": "IE", "japon": "JP", "japón": "JP", "giappone": "JP", "nippon": "JP", "nihon": "JP",
    "australien": "AU", "australie": "AU", "down under": "AU", "singapur": "SG", "singapour": "SG",
    "südafrika": "ZA",
}  # fmt: skip
# Names in scripts without spaces between words (Chinese, Japanese), and Arabic: matched anywhere in the text.
CJK_NAMES: Final[dict[str, str]] = {
    "美国": "US", "美國": "US", "加拿大": "CA", "墨西哥": "MX", "巴西": "BR", "英国": "UK", "英國": "UK",
    "德国": "DE", "德國": "DE", "ドイツ": "DE", "法国": "FR", "法國": "FR", "フランス": "FR", "意大利": "IT",
    "イタリア": "IT", "西班牙": "ES", "スペイン": "ES", "荷兰": "NL", "瑞典": "SE", "波兰": "PL", "比利时": "BE",
    "土耳其": "TR", "埃及": "EG", "沙特": "SA", "阿联酋": "AE", "印度": "IN", "日本": "JP", "澳大利亚": "AU",
    "澳洲": "AU", "新加坡": "SG", "イギリス": "UK", "アメリカ": "US", "オーストラリア": "AU",
    # Arabic writes "and", "in" and "the" onto the name (والسعودية, بالإمارات), so these too are matched anywhere
    "السعودية": "SA", "السعوديه": "SA", "الإمارات": "AE", "الامارات": "AE", "مصر": "EG", "أمريكا": "US",
    "امريكا": "US", "الولايات المتحدة": "US", "كندا": "CA", "بريطانيا": "UK", "المملكة المتحدة": "UK",
    "ألمانيا": "DE", "المانيا": "DE", "فرنسا": "FR", "إيطاليا": "IT", "ايطاليا": "IT", "إسبانيا": "ES",
    "اسبانيا": "ES", "تركيا": "TR", "الهند": "IN", "اليابان": "JP", "أستراليا": "AU", "استراليا": "AU",
}  # fmt: skip
CJK_NAME_RE: Final = re.compile("|".join(sorted(CJK_NAMES, key=len, reverse=True)))
# "Oz" for Australia, only capitalised and not after a number ("16 oz").
_OZ_RE: Final = re.compile(r"(?<![\w.])(?<!\d )Oz(?![\w])")
# A list goes on after a country: "Amazon UK, Germany and us", "DE, fr & it": lower-case codes count there.
_LIST_SEPARATOR_RE: Final = re.compile(r"\s*(?:,|&|\+|/|;|\band\b|\bor\b|\bund\b|\by\b|\bet\b|\be\b)\s*(?:the\s+)?")
# ... where the list ends with it: "and it is slow" is not Italy.
_LIST_CODE_RE: Final = re.compile(
    r"(" + "|".join(c.lower() for c in CODES) + r"|gb)"
    r"(?=\s*(?:$|[,.!?;:)&+/]|\s(?:and|or|too|only|as well|marketplaces?|stores?|accounts?|regions?)\b))"
)
NAME_RE: Final = re.compile(
    r"(?<![\w.])(" + "|".join(re.escape(n) for n in sorted(COUNTRY_NAMES, key=len, reverse=True)) + r")(?![\w]|\.\w)"
)
_NOT_A_COUNTRY_BEFORE: Final = re.compile(r"(?:north|south|latin|central)\s+$")
BARE_TLD_RE: Final = re.compile(r"(?<![\w.])\.(" + AMAZON_TLDS.replace(".", r"\.") + r")(?![\w])")
_AMAZON_CODE_RE: Final = re.compile(
    r"\bamazon\s+(" + "|".join(c.lower() for c in CODES) + r"|gb)\b(?!\s+(?:is|was|the|a)\b)"
)
_CAPS_CODE_RE: Final = re.compile(r"(?<![A-Za-z])(" + "|".join(CODES) + r"|GB)(?![A-Za-z])")
_AMBIGUOUS_CAPS: Final = frozenset({"US", "IT", "IN", "BE", "SE"})
_IT_DEPARTMENT_RE: Final = re.compile(r"\s*(?:team|department|dept|guy|people|support|admin|person)")
# Names long enough to be matched fuzzily, and English words near them that must not be.
_FUZZY_NAMES: Final = tuple(n for n in COUNTRY_NAMES if len(n) >= 5 and "." not in n)
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
def fuzzy_country(token: str) -> str | None:
    """The country name a misspelt word stands for ("germny" -> "germany"), if any."""
    names = _FUZZY_BY_INITIAL.get(token[:1])
    if not names or token in _FUZZY_STOP or token in COUNTRY_NAMES:
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
    if pair[:1] not in "usg" or pair in COUNTRY_NAMES:
        return None
    best = process.extractOne(pair, _FUZZY_PAIRS, scorer=OSA.distance, score_cutoff=2)
    return None if best is None else best[0]


def extract_marketplaces(text: str) -> tuple[str, ...]:
    """Country codes in order of mention, without duplicates ("europe" alone is not one)."""
    low = text.lower()
    found: list[tuple[int, str]] = []
    for m in AMAZON_DOMAIN_RE.finditer(low):
        found.append((m.start(), _TLD_CODE[m.group(1)]))
    for m in BARE_TLD_RE.finditer(low):
        found.append((m.start(), _TLD_CODE[m.group(1)]))
    for m in _AMAZON_CODE_RE.finditer(low):
        code = m.group(1).upper()
        found.append((m.start(1), "UK" if code == "GB" else code))
    found.extend((m.start(), CJK_NAMES[m.group(0)]) for m in CJK_NAME_RE.finditer(text))
    found.extend((m.start(), "AU") for m in _OZ_RE.finditer(text))
    # A name inside a domain or code already read ("amazon uk" then "uk") is not a second mention;
    # only the span actually matched is taken, so "Amazon UK, Germany and the US" keeps Germany.
    taken = [range(m.start(), m.end()) for m in (*AMAZON_DOMAIN_RE.finditer(low), *BARE_TLD_RE.finditer(low),
                                                 *_AMAZON_CODE_RE.finditer(low))]
    spans: list[tuple[int, int]] = [(r.start, r.stop) for r in taken]
    for m in NAME_RE.finditer(low):
        name = m.group(1)
        if name in ("america", "american") and _NOT_A_COUNTRY_BEFORE.search(low[: m.start()]):
            continue
        if any(m.start() in r for r in taken):
            continue
        found.append((m.start(), COUNTRY_NAMES[name]))
        spans.append((m.start(), m.end()))
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
        spans.append((m.start(), m.end()))
    found.extend(_list_continuations(low, spans))
    for m in _FUZZY_TOKEN_RE.finditer(low):
        name = fuzzy_country(m.group(0))
        if name is not None:
            found.append((m.start(), COUNTRY_NAMES[name]))
    for m in _FUZZY_PAIR_RE.finditer(low):
        pair_name = _fuzzy_pair(" ".join(m.group(1).split()))
        if pair_name is not None:
            found.append((m.start(1), COUNTRY_NAMES[pair_name]))
    codes: list[str] = []
    for _, code in sorted(found):
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def _list_continuations(low: str, spans: list[tuple[int, int]]) -> list[tuple[int, str]]:
    """Lower-case codes that continue a list of countries ("UK, Germany and us"): a code alone
    could be a word ("us", "it", "in"), right after a country and a separator it is one more country."""
    more: list[tuple[int, str]] = []
    ends = sorted(end for _, end in spans)
    while ends:
        end = ends.pop(0)
        sep = _LIST_SEPARATOR_RE.match(low, end)
        if sep is None or sep.end() == end:
            continue
        code = _LIST_CODE_RE.match(low, sep.end())
        if code is None or re.match(r"\.\w", low[code.end():code.end() + 2]):
            continue
        more.append((code.start(), "UK" if code.group(1) == "gb" else code.group(1).upper()))
        ends.append(code.end())
    return more


def _mostly_upper(text: str) -> bool:
    """Shouting ("HELP US IT DOESNT WORK"): then capitals say nothing about country codes."""
    letters = [ch for word in re.findall(r"[^\W\d_]{3,}", text) for ch in word]
    return len(letters) >= 6 and sum(ch.isupper() for ch in letters) > 0.6 * len(letters)


# A clause that says its marketplaces are connected already ("US is already connected, now add DE"):
# those are not part of the new connection. Clauses end at punctuation or where the request starts.
_CLAUSE_END_RE: Final = re.compile(
    r"\.(?!\w)|[;!?\n。，、]|,|\b(?:but|now|how|want|wanna|would like|need|please|pls|can i|can we|could|add|adding"
    r"|jetzt|wollen|möchten|ahora|queremos|maintenant|voulons|ora|vogliamo)\b"
)
_ALREADY_CONNECTED_RE: Final = re.compile(
    r"\b(?:already|previously|earlier)\b.*\b(?:connected|linked|set ?up|added|integrated|synced|syncing|hooked"
    r"|on (?:the )?(?:platform|tool|dashboard)|working|live|done)\b"
    r"|\b(?:connected|linked|set ?up|added|integrated|hooked up|synced)\b"
    r".*\b(?:already|before|last (?:week|month|year))\b"
    r"|\b(?:is|are|was|were|has been|have been|got)\s+(?:all\s+)?(?:connected|linked|integrated|synced)\b"
    r"|\b(?:bereits|schon)\b.*\b(?:verbunden|verknüpft|angebunden)\b|\bya\b.*\bconectad[oa]s?\b"
    r"|\bdéjà\b.*\b(?:connecté|lié)e?s?\b|\bgià\b.*\b(?:collegat|conness)[oaie]\b|已(?:经)?(?:连接|绑定|授权)|(?:既に|すでに|もう).*(?:接続|連携|リンク)"
)
_NOT_CONNECTED_RE: Final = re.compile(r"\b(?:not|isn't|aren't|wasn't|weren't|never|no longer)\b|n't\b")


def already_connected_marketplaces(text: str) -> tuple[str, ...]:
    """The marketplaces a message says are connected already, which a new connection must not add."""
    said: list[str] = []
    start = 0
    low = text.lower()
    for end in [m.start() for m in _CLAUSE_END_RE.finditer(low)] + [len(low)]:
        clause = low[start:end]
        if _ALREADY_CONNECTED_RE.search(clause) and not _NOT_CONNECTED_RE.search(clause):
            said.extend(c for c in extract_marketplaces(text[start:end]) if c not in said)
        start = end
    return tuple(said)
