"""Whether a message asks something, in the languages customers write in.

"we're a seller on amazon.de" states; "welche Region ist Mexiko", "differenza tra vendor e seller",
"I chose vendor but should it be seller" ask, though only some of them carry a question mark. The
bot answers a question about a topic and only remembers a statement of it (bot/asides.py), so this
must hold beyond English: German, French, Spanish, Italian, Portuguese, Dutch, romanised Hindi,
Chinese and Japanese question words, and English questions typed without a mark or with the verb
inside the sentence ("so are we a vendor", "is that seller").
"""

from __future__ import annotations

import re
from typing import Final

# A mark: Latin, full-width (Chinese, Japanese), Spanish opening, Arabic.
_MARK: Final = re.compile(r"[?？¿؟]")

# A question word at the start of the message or of one of its clauses.
_OPENING: Final = re.compile(
    r"(?:^|[.,;:!\n(]\s*|\b(?:and|but|also|so|und|aber|et|mais|y|pero|e|ma|en|maar|aur)\s+)"
    r"(?:(?:in|for|from|to|with|per|für|in|pour|para|en|a|di|de|op|voor|bei)\s+)?"
    r"(?:how|what|whats|what's|which|where|who|why|when|is|are|do|does|did|can|could|should|must|will|would"
    r"|shall|may|any|wat|wht|hw"
    r"|wie|was|welche[rsnm]?|wo|wohin|warum|wann|muss|müssen|kann|können|soll|sollen|ist|sind|gibt es|brauche"
    r"|comment|quel(?:le)?s?|où|pourquoi|quand|combien|est-ce|faut-il|dois-je|puis-je|peut-on|peux-je"
    r"|c[oó]mo|qu[eé]|cu[aá]l(?:es)?|d[oó]nde|por qu[eé]|cu[aá]ndo|cu[aá]nto|puedo|debo|tengo que|hay que|se puede"
    r"|come|cosa|che cosa|quale|quali|dove|perch[eé]|quanto|posso|devo|serve|bisogna"
    r"|qual|quais|onde|porque|quando|preciso|d[aá] para"
    r"|hoe|welke|waar|waarom|wanneer|moet|kan ik|kunnen"
    r"|kya|kaise|kaun|kaunsa|konsa|kitna|kitne|kab|kahan|kyun|kyon)\b",
    re.IGNORECASE,
)

# English questions with the verb inside the sentence or no mark: "so are we a vendor", "is that seller",
# "should it be seller", "I wonder if", "do we need".
_INVERTED: Final = re.compile(
    r"\b(?:is (?:it|there)|are (?:we|you|they|there)|should (?:it|we|i|this|that|they)"
    r"|(?:can|could|would|will|must|shall|may) (?:i|we|you|they|it)|(?:do|does|did) (?:i|we|you|they))\b"
    r"|\b(?:wonder(?:ing)?|not sure|unsure|no idea|don'?t know|dunno|confused|any idea|tell me|explain)\b"
    r"|\b(?:how|what|which|where|why|when) (?:to|do|does|is|are|can|should|much|many|long)\b"
    r"|\b(?:which|what|where)\b",
    re.IGNORECASE,
)

# Chinese and Japanese: particles and question words that make a sentence a question wherever they stand.
_CJK: Final = re.compile(
    r"吗|嗎|么|麼|什么|怎么|怎樣|怎样|如何|哪|多少|是否|能否|还是"
    r"|ですか|ますか|でしょうか|どう|どの|どこ|いつ|なぜ|何|か[。]?$")


def asks(text: str) -> bool:
    """Whether `text` asks something (a question or a doubt), in any of the languages above."""
    return bool(_MARK.search(text) or _OPENING.search(text.strip()) or _INVERTED.search(text) or _CJK.search(text))


# A request is a question in other words: "we want to add amazon.it", "I'd like to connect Canada too",
# "please send the link again", "let's do the UK next".
_REQUEST: Final = re.compile(
    r"\b(?:i|we) (?:want|wanna|need|would like|'d like|d like|have) to\b|\b(?:i|we)'d like to\b|\bplease\b|\bpls\b"
    r"|\blet'?s\b|\bhelp me\b|\b(?:i|we) (?:want|need) (?:a|an|the|another|more)\b"
    r"|\b(?:ich|wir) (?:möchte|möchten|will|wollen)\b|\b(?:quiero|queremos|quisiera|necesito|necesitamos)\b"
    r"|\b(?:je veux|nous voulons|je voudrais|j'aimerais)\b|\b(?:voglio|vogliamo|vorrei)\b"
    r"|\b(?:quero|queremos|gostaria|preciso)\b",
    re.IGNORECASE,
)


def asks_or_requests(text: str) -> bool:
    """Whether `text` asks something or asks for something."""
    return asks(text) or bool(_REQUEST.search(text))
