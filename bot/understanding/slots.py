"""Slots: the values a message states (account type, agency, marketplaces, yes/no, error codes,
new customer). Rules plus rapidfuzz; they need no training.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from bot.understanding.markets import (
    AMAZON_DOMAIN_RE,
    BARE_TLD_RE,
    CJK_NAME_RE,
    CODES,
    NAME_RE,
    already_connected_marketplaces,
    extract_marketplaces,
    fuzzy_country,
)
from bot.understanding.text import clean


@dataclass(frozen=True)
class Slots:
    account_type: str | None = None  # "vendor" | "seller" | "both"
    agency: bool | None = None  # True when they speak as an agency for a client
    marketplaces: tuple[str, ...] = ()  # country codes in order of mention, no duplicates
    yes_no: str | None = None  # "yes" | "no" | "unsure" when the message is (or starts with) one
    error_codes: tuple[str, ...] = ()  # "MD1000", "access_denied", "Invalid Access", ...
    new_customer: bool | None = None  # True: new here / signing up; False: existing user
    advertised: bool | None = None  # True: says campaigns run / have run; False: never advertised, none running
    admin: bool | None = None  # True: says the login has admin / View and Edit; False: Viewer only, not admin


_VENDOR_RE: Final = re.compile(
    r"\bv[ae]nd[oe]?rs?\b|\b1p\b|\b1st[- ]party\b|\bfirst[- ]party\b|\bvc\b|\bvendor[- ]?central\b"
    r"|\bwholesale\b|\bsuppliers?\b|\bsell(?:s|ing)? (?:directly |wholesale )?to amazon\b"
    # the word in customers' languages: Lieferant, proveedor, fornitore, fournisseur, fornecedor, leverancier
    r"|\blieferanten?\b|\bproveedor(?:es)?\b|\bfornitor[ei]\b|\bfournisseurs?\b|\bfornecedor(?:es)?\b"
    r"|\bleveranciers?\b|供应商|供應商|ベンダー"
)
_SELLER_RE: Final = re.compile(
    r"\bsel+e?rs?\b|\b3p\b|\b3rd[- ]party\b|\bthird[- ]party\b|\bsc\b|\bfba\b|\bfbm\b"
    r"|\bseller[- ]?central\b|\bsellercentral\b"
    # Verkäufer, Händler, vendedor (es, pt), venditore, vendeur, verkoper: the one selling on Amazon
    r"|\bverk(?:ä|ae|a)ufer(?:in)?\b|\bh(?:ä|ae|a)ndler\b|\bvendedor(?:es|a)?\b|\bvenditor[ei]\b"
    r"|\bvendeu(?:r|se)s?\b|\bverkopers?\b|卖家|賣家|セラー|出品者"
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
    r"(?<!not an )\bagenc(?:y|ies)\b|\b(?:our|my|a|the|this|their|one of our|each|every)\s+(?:clients?|customer's)\b"
    r"|\bclients?'s?\b|\bclients? (?:account|brand|store|seller|vendor)s?\b|\bon behalf of\b|\bfreelanc\w*"
    r"|\bconsultan(?:t|cy)\b|\bcustomer(?:'s|s'|s) (?:account|store|brand|seller central|vendor central|ads)\b"
    r"|\bmarketing (?:firm|company|partner)\b|\b(?:we|i) represent (?:the|a|several|multiple|our) brands?\b"
    r"|\bwe manage (?:ads|amazon|accounts|brands)\b|\bhired us\b"
    r"|\b(?:run|runs|running|manage|managing|handle|handling) (?:their|the brand's|the client's) "
    r"(?:ppc|ads|advertising|amazon|account)\b"
    r"|\bbrands? (?:that )?we (?:manage|work for|work with|run|represent|look after)\b"
    r"|\b(?:we|i) (?:manage|run|handle|look after|do|support|operate)\b[^.?!]{0,40}?\bfor (?:other|others|several"
    r"|multiple|a few|many|some|different|the owner|brands|companies|sellers|vendors|customers|clients)\b"
)
# "our old agency's tool", "we fired our agency": they are the brand, speaking of an agency
_AGENCY_NOT_CLIENT: Final = re.compile(
    r"(?:email|unauthorized|unauthorised|invalid|oauth)[ _]client|client[ _]?(?:id|secret)"
    r"|\b(?:old|previous|former|ex|last|fired|left|dropped|hired|had an?|using an?|with an?)"
    r" (?:an? |our |the )?agenc(?:y|ies)\b"
    r"|\b(?:what|which) (?:is|does|means?) (?:an? |the )?agency\b|\bagency mean\b"
)
_NOT_AGENCY_RE: Final = re.compile(r"\b(?:not|no|isn't|aren't|never)\s+(?:an?\s+|using an?\s+)?agenc(?:y|ies)\b")
_AGENCY_NO_RE: Final = re.compile(
    r"\bprivate owner\b|\bnot an agency\b|\bno agency\b|\bmy own (?:account|brand|store|business|company|products?)\b"
    r"|\bour own (?:account|brand|store|business|company|products?)\b|\bwe are the brand\b|\bwe're the brand\b"
    r"|\bi own (?:the|this|my|our|a) (?:account|brand|business|store|seller|vendor|company)\b|\bbrand owner\b"
    r"|\b(?:i'm|i am|we're|we are) the (?:account )?owners?\b|\bowner of (?:the|this|my|our) (?:account|brand|store)\b"
    r"|\bin-?house\b|\brun my own\b|\bwe do it ourselves\b|\bour products\b"
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
    r"^(?:nope|nah|naw|not yet|not really|no thanks|no thank you|negative|not at all|nein|noch nicht|non|pas encore"
    r"|nee|nog niet|nahi|nahin|não|nao|ainda não|todav[ií]a no|a[uú]n no|ancora no|いいえ|不是)\b"
    r"|^no(?=\s*$|\s*[,.!;:\-]|\s+(?:i|we|it|its|it's|not|thanks|thank|sorry|still|they|that|this"
    r"|haven't|havent|didn't|didnt|don't|dont|nothing|never|because|just|only|but|sir|mate|we're"
    r"|i'm|im|i've|ive|one|none|nobody)\b)|^n$"
)
_YES_RE: Final = re.compile(
    r"^(?:yes|yess|yep|yeah|yea|yup|yah|ya|yas|ja|oui|si|sì|sí|sim|haan|haa|hanji|claro|certo|genau|klar"
    r"|absolutely|definitely|of course|affirmative"
    r"|please do|do it|go ahead|sounds good|let's do it|lets do it)\b"
    r"|^(?:ok|okay|k|kk|sure|alright|all right|correct|right|exactly|indeed|fine|great|perfect)"
    + _ANSWER_END
    + r"|^(?:ok|okay|sure)\s+(?:do it|go|go ahead|let's|lets|sounds|send|please)\b|^y$"
    r"|^(?:done|all done|i did|we did|did it|i did it|we did it|they did|they did it|finished)" + _ANSWER_END
    + r"|^(?:はい|是的|对的|好的)"
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


_ADVERTISED_NO_RE: Final = re.compile(
    r"\bnever (?:advertised|r[au]n (?:any |an? )?(?:ads?|campaigns?)|had (?:any |an? )?(?:ads?|campaigns?))\b"
    r"|\b(?:no|zero|0) (?:active |live |running )?(?:campaigns?|ads|advertising)(?! (?:profiles?|accounts?))"
    r"(?: yet| running| at all)?\b"
    r"|\b(?:not|isn'?t|aren'?t) (?:running|doing) (?:any )?(?:ads|campaigns?|advertising|ppc)\b"
    r"|\bwithout (?:any )?(?:ads|campaigns?)\b"
    r"|\b(?:keine|sin|ning[uú]n[ao]?|aucune?|pas de|nessun[ao]?|geen|koi) (?:\w+ )?"
    r"(?:kampagnen?|werbung|anzeigen|campa[ñn]as?|anuncios?|campagn[ae]|campagnes?|pubs?|publicit[eéà]s?|campagne|advertenties|ads?)\b"
    r"|\b(?:haven'?t|have not|hasn'?t|didn'?t|did not|don'?t|do not) (?:\w+ )?"
    r"(?:advertised|advertise|run any|started any|launched any|have any (?:active |live |running )?(?:campaigns?|ads))"
    r"\b"
    r"|\bnot (?:yet )?advertis\w*\b|\bnothing (?:since|lately|recently|anymore|now)\b|\bno longer (?:advertis|run)\w*"
    r"|\bstopped (?:advertising|running|all|our|the) ?(?:ads|campaigns?|advertising)?\b"
    r"|\b(?:campaigns?|ads) (?:are |is )?(?:all )?paused\b"
)
_ADVERTISED_YES_RE: Final = re.compile(
    r"\b(?:campaigns?|ads|advertising|ppc)\s+(?:are\s+|is\s+|have been\s+|has been\s+)?(?:running|live|active)\b"
    r"|\b(?:campaigns?|ads) (?:are|is) on\b"
    r"|\b(?:we|i)(?:'ve| have)?\s+(?:been\s+)?(?:advertis\w+|running (?:ads|campaigns|ppc)|run(?:ning)? ads)\b"
    r"|\b(?:we|i) (?:have|got) (?:active|live|running) (?:campaigns?|ads)\b|\bwe advertise\b"
    r"|\b(?:been )?advertising (?:for|since) \w+"
    # "campagne attive", "les campagnes tournent", "campaigns chal rahe hain", "wir haben Kampagnen geschaltet"
    r"|\b(?:campagne|campañas|campanhas|campagnes|kampagnen|anzeigen|anuncios|annunci|campaigns?|ads)\s+(?:\w+\s+)?"
    r"(?:attive|activas|ativas|actives|aktiv|lopen|laufen|tournent|en cours|in corso|corriendo|rodando|geschaltet"
    r"|chal rah[eiay]|chalu)\b"
    r"|\b(?:haben|hemos|tenemos|abbiamo|temos|avons|hebben)\s+(?:\w+\s+)?(?:kampagnen|campañas|campagne|campanhas"
    r"|campagnes)\b"
    # "都有广告在跑", "广告一直在投", "広告を運用しています", "広告は配信中"
    r"|广告(?:一直|都)?在(?:跑|投)|有广告在|在投(?:放)?广告|广告投放中|広告を(?:出して|運用して|配信して)|広告(?:は|が)?配信中"
)
_ADMIN_NO_RE: Final = re.compile(
    r"\b(?:not (?:an? |the )?admin|no admin|don'?t have (?:admin|view and edit|full)|only (?:a )?viewer"
    r"|viewer (?:only|access|role)|view[- ]only|read[- ]only|only (?:have )?view access)\b"
)
_ADMIN_YES_RE: Final = re.compile(
    r"\b(?:i'?m|i am|we'?re|we are|im)\s+(?:an?\s+|the\s+)?(?:admins?|administrators?|account owners?|owners?)\b"
    r"|\b(?:i|we) (?:have|got|already have)\s+(?:the\s+)?(?:full\s+)?"
    r"(?:admin|administrator|view and edit|view & edit|full)"
    r"(?: access| rights| permissions?)?\b|\badmin (?:access|rights) (?:on|in|to) \w+ (?:already|yes)\b"
    r"|\b(?:je suis|ich bin|soy|sono|sou|ik ben|main|hum) (?:l'|el |der |la |un |una |o |a )?"
    r"(?:admin|administra\w*|amministra\w*)\b"
    r"|\b(?:added|made|set up|gave) (?:us|me|our login|my login) (?:as |an? )*(?:admins?|administrators?)\b"
)
_QUESTION_CLAUSE_RE: Final = re.compile(
    r"^\W*(?:do|does|did|is|are|should|must|can|could|will|would|what|how|which|why|when)\b")


def _stated(pattern: re.Pattern[str], low: str) -> bool:
    """The pattern matches in a clause that states something, not in one that asks it."""
    for clause in re.split(r"(?<=[.?!;])\s+|,\s*|\s+but\s+", low):
        if pattern.search(clause) and not (clause.rstrip().endswith("?") and _QUESTION_CLAUSE_RE.match(clause)):
            return True
    return False


def extract_advertised(text: str) -> bool | None:
    low = text.lower()
    if _stated(_ADVERTISED_NO_RE, low):
        return False
    return True if _stated(_ADVERTISED_YES_RE, low) else None


def extract_admin(text: str) -> bool | None:
    low = text.lower()
    if _stated(_ADMIN_NO_RE, low):
        return False
    return True if _stated(_ADMIN_YES_RE, low) else None


def extract_slots(text: str) -> Slots:
    """Every slot value the message states; rule- and fuzzy-based, no training needed."""
    cleaned, garbage = clean(text)
    if garbage:
        return Slots()
    return extract_cleaned(cleaned)


def extract_cleaned(cleaned: str) -> Slots:
    """`extract_slots` for text already `clean`ed (and found not to be garbage)."""
    return Slots(
        account_type=extract_account_type(cleaned),
        agency=extract_agency(cleaned),
        marketplaces=_new_marketplaces(cleaned),
        yes_no=extract_yes_no(cleaned),
        error_codes=extract_error_codes(cleaned),
        new_customer=extract_new_customer(cleaned),
        advertised=extract_advertised(cleaned),
        admin=extract_admin(cleaned),
    )


def _new_marketplaces(cleaned: str) -> tuple[str, ...]:
    """Marketplaces named, less those the customer says are connected already."""
    named = extract_marketplaces(cleaned)
    if not named:
        return named
    connected = already_connected_marketplaces(cleaned)
    return tuple(m for m in named if m not in connected)


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
_JOINERS: Final = frozenset({"和", "与", "及", "と", "و", "y", "und", "et", "e"})  # "and" between two marketplaces
_SLOT_WORD_RE: Final = re.compile(
    _VENDOR_RE.pattern + "|" + _SELLER_RE.pattern + r"|\bparty\b|\b(?:first|third|1st|3rd)\b"
)

_LOWER_CODE_RE: Final = re.compile(r"(?<![a-z])(?:" + "|".join(c.lower() for c in CODES) + r"|gb)(?![a-z])")


def only_slot_words(cleaned: str) -> bool:
    """Whether the text is nothing but an account type and/or marketplaces ("we're 3P", "UK+DE")."""
    low = cleaned.lower()
    low = AMAZON_DOMAIN_RE.sub(" ", low)
    low = BARE_TLD_RE.sub(" ", low)
    low = NAME_RE.sub(" ", low)
    low = _SLOT_WORD_RE.sub(" ", low)
    low = _LOWER_CODE_RE.sub(" ", low)
    low = CJK_NAME_RE.sub(" ", low)
    # every word counts, in any script: "日本のアカウントは既に接続済みです" is no bare answer
    rest = [w for w in re.findall(r"[^\W\d_][\w']*", low) if w not in _FILLER and w not in _JOINERS]
    # misspelt country names ("Germny", "Swedn") are not removed above
    return all(fuzzy_country(w) is not None for w in rest)
