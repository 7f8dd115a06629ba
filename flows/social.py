"""People talk like people: thanks, bye, ok, an emoji, "hello?", "are you there".

Such a message gets a short, fitting reply (common/social) and the pending step in one line,
never "Sorry, I did not get that" or the scope message.
"""

from __future__ import annotations

import re
import unicodedata

_THANKS = re.compile(
    r"^(?:(?:ok(?:ay)?|great|perfect|cool|awesome|brilliant|nice|super|good)[\s,!.]+)?"
    r"(?:thanks?|thank you|thankyou|thx|tnx|ty|tysm|cheers|many thanks|much appreciated|appreciate it|danke"
    r"|merci|gracias|grazie|dhanyavaad|shukriya|xie ?xie|谢谢|多谢|obrigad[oa]|dank je|bedankt|teşekkürler|tesekkurler"
    r"|teşekkür ederim|dziękuję|dziekuje|dzięki|dzieki|شكرا|شكرا لك|شكرا جزيلا|ありがとう|ありがとうございます)"
    r"(?:\s+(?:a lot|so much|very much|again|a bunch|mate|guys|team|you|for (?:the|your) help|for helping))*$"
)
_BYE = re.compile(
    r"^(?:(?:ok(?:ay)?|thanks?|thank you|great)[\s,!.]+)?(?:bye|bye bye|goodbye|good bye|see you|see ya|cya|later"
    r"|talk (?:to you )?later|have a (?:good|nice|great) (?:day|one|weekend)|that'?s all|that is all|tschüss|ciao"
    r"|adios|au revoir)(?:\s+(?:for now|then|now))?$"
)
_ACK = re.compile(
    r"^(?:ok(?:ay)?|okey|k|kk|cool|great|nice|got it|gotcha|understood|alright|all right|sounds good|perfect|noted"
    r"|i see|makes sense|fine|good|awesome|super|right|roger|ack|sure thing|will do|on it|ok cool|ok great)$"
)
_HELLO = re.compile(r"^(?:hi|hii|hello|hey|heya|hiya|yo|good (?:morning|afternoon|evening)|hallo|hola|ciao|namaste"
                    r"|bonjour|guten tag|ni ?hao|你好|您好|olá|ola|oi|hoi|goedemorgen|merhaba|cześć|czesc|dzień dobry"
                    r"|مرحبا|اهلا|السلام عليكم|سلام|こんにちは)(?:\s+(?:there|team|all|guys|bot))?$")
_PRESENCE = re.compile(
    r"^(?:(?:hi|hello|hey)\s+)?(?:hello+|anyone|anybody|somebody|someone)(?:\s+(?:there|here|home))?\s*\?+$"
    r"|\b(?:are you (?:still )?(?:there|here|awake|alive)|you there|still there"
    r"|is (?:any|some)(?:one|body) (?:there|here)|anyone (?:there|around|here)|hello\?+)"
)
_MAX_WORDS = 8
# "ok I'll try that, thanks", "will do, cheers": short news that ends in thanks, or says the customer will act
_ENDS_THANKS = re.compile(r"(?:thanks?|thank you|thx|ty|cheers|danke|merci|gracias|grazie|obrigad[oa]|dank je)"
                          r"(?: (?:a lot|so much|very much|again))?$")
_WILL_DO = re.compile(r"^(?:(?:ok(?:ay)?|alright|sure|fine|great|good) )?(?:i'?ll|i will|will|let me|gonna)"
                      r" (?:try|do|check|look|test)(?: (?:it|that|this|again|now|later|tomorrow))*$")


def social_kind(text: str) -> str | None:
    """'thanks' | 'bye' | 'ack' | 'hello' | 'presence' when the message is only that, else None."""
    raw = text.strip()
    if raw and not any(ch.isalnum() for ch in raw):
        return "ack" if any(unicodedata.category(ch) == "So" for ch in raw) else None  # an emoji, a thumbs-up
    low = " ".join(re.sub(r"[^\w\s?'’]", " ", raw.lower()).split()).replace("’", "'")
    if not low or len(low.split()) > _MAX_WORDS:
        return None
    if _PRESENCE.search(low):
        return "presence"
    plain = low.rstrip("?! ").strip()
    for kind, pattern in (("thanks", _THANKS), ("bye", _BYE), ("ack", _ACK), ("hello", _HELLO)):
        if pattern.match(plain):
            return kind
    thanked = _ENDS_THANKS.search(plain)
    if thanked and "?" not in low:
        rest = plain[: thanked.start()].strip(" ,.!")
        if _ACK.match(rest) or _WILL_DO.match(rest):
            return "thanks"
    return "ack" if _WILL_DO.match(plain) else None
