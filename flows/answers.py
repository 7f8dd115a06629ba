"""Reading short answers in context: "done", "they did it", "still nothing".

The classifier knows topics; at a step that waits for the customer to do something, what matters
is whether they say it is done, or that it still does not work. Its yes/no slot answers most of
it; these patterns catch the ways people report progress without saying yes or no.
"""

from __future__ import annotations

import re

from flows.base import Ctx

_DONE = re.compile(
    r"\b(done|did it|did that|finished|fixed|sorted|granted|gave|given|added|invited|ready|all set|"
    r"completed|removed|re-?added|updated|changed|it'?s live|live now|running now|is running|active now|"
    r"launched|created|started|works now|got it|have access|has access|got access"
    r"|c'est fait|erledigt|gemacht|hecho|listo|fatto|feito|pronto|klaar|gedaan|ho gaya|kar diya)\b")
_NOT_YET = re.compile(
    r"\b(not yet|still (?:nothing|no|not|waiting|missing|doesn'?t|didn'?t)|nothing (?:came|arrived|yet)|"
    r"no luck|didn'?t (?:work|arrive|come|get)|haven'?t (?:got|received|gotten)|not there|nope|"
    r"no email|not received|can'?t find|nothing (?:there|in (?:it|there|spam)|at all))\b")
_AFFIRM = re.compile(r"^\W*(?:ok(?:ay)?|sure|yes+|yep|yeah|ya|yup|yas|correct|right|true|fine|all good|both)\b")
_NEGATION = re.compile(r"\b(?:no|zero|none|without|not|never|nope|don'?t|doesn'?t|isn'?t|aren'?t|haven'?t|hasn'?t"
                       r"|can'?t|neither)\b")


_AGAIN = re.compile(r"\b(again|new link|resend|re-send|retry|another (?:link|try|go)|send (?:it|me|one)|try now)\b")
_ASK_FOR_LINK = re.compile(r"\b(send|give)\b.*\b(link|it|again)\b|\bnew link\b|\bresend\b")


def wants_again(ctx: Ctx) -> bool:
    """After a failed attempt: the customer asks to try again, or says the cause is fixed.

    A question ("is it safe to try again?") is a question first: it is answered, not acted on.
    """
    text = ctx.inbound.text.lower()
    if "?" in text:
        return bool(_ASK_FOR_LINK.search(text))
    return bool(_AGAIN.search(text)) or says_done(ctx)


_REMOVAL_ACTION = re.compile(r"\b(remove|delete|cancel|disconnect|close|deactivate|unsubscribe|pause|get rid of)\b")


def asks_for_removal(text: str) -> bool:
    """An actual request to remove, cancel or disconnect (a person does those), not a bare 'stop'."""
    return bool(_REMOVAL_ACTION.search(text.lower()))


_RUNNING = re.compile(r"\b(?:campaigns?|ads?|advertising)\b.*\b(?:running|live|active|launched|started|created|on)\b"
                      r"|\b(?:running|live|active|launched|started|created)\b.*\b(?:campaigns?|ads?)\b")


def says_campaign_running(text: str) -> bool:
    """'our campaign is running now' (and not 'no campaign is running')."""
    low = text.lower()
    return bool(_RUNNING.search(low)) and not _NEGATION.search(low)


def affirms(text: str) -> bool:
    """'ok yes both fine', 'sure, go ahead': an answer that starts with agreement and denies nothing."""
    low = text.lower()
    return bool(_AFFIRM.search(low)) and not _NEGATION.search(low)


def says_not_yet(ctx: Ctx) -> bool:
    """The customer reports that it has not happened, or still does not work."""
    heard = ctx.heard
    if heard is not None and heard.slots.yes_no == "no":
        return True
    return bool(_NOT_YET.search(ctx.inbound.text.lower()))


def says_done(ctx: Ctx) -> bool:
    """The customer reports that the thing asked of them (or of someone else) is done."""
    if says_not_yet(ctx):
        return False
    heard = ctx.heard
    if heard is not None and heard.slots.yes_no == "yes":
        return True
    return bool(_DONE.search(ctx.inbound.text.lower()))


_GOOD = re.compile(r"\b(good|great|excellent|brilliant|perfect|amazing|awesome|helpful|very happy|happy|"
                   r"love(?:d)? it|5|4)\b")
_OK = re.compile(r"^\W*(ok(?:ay)?|fine|alright|so-?so|meh|average|not bad|3)\W*$")
_BAD = re.compile(r"\b(bad|poor|terrible|awful|useless|unhelpful|not helpful|slow|disappointed|1|2)\b")


def rating_in(text: str) -> str | None:
    """A satisfaction answer in words ('it was great', 'meh', 'not helpful'): good | ok | bad, or None."""
    said = text.lower().strip()
    if "?" in said or len(said) > 80:
        return None  # a question or a story: handled as what it is, not as a score
    if _BAD.search(said) or (_NEGATION.search(said) and _GOOD.search(said)):
        return "bad" if not re.search(r"\bnot bad\b", said) else "ok"
    if _OK.search(said):
        return "ok"
    if _GOOD.search(said):
        return "good"
    return None


_REMINDER = re.compile(r"\bremind(?:er|ers)?\b|\b(?:ping|nudge) me\b|\berinner|\brecord(?:a|á|ar)(?:me|tório)?\b"
                       r"|\brappel")


def asks_for_reminder(text: str) -> bool:
    """'yes please remind me', 'send me a reminder': the campaign reminder, wherever it is offered."""
    return bool(_REMINDER.search(text.lower()))
