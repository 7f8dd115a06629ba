"""What each topic and slot means, in one line each: the brief a language model reads (`second_opinion.py`).

The definitions follow the "the customer is asking or doing" column of design/topics.md, the contract
every part of the bot shares; a test checks that every `Topic` has one. Nobody but the model reads
them: what the customer reads still comes from templates and articles.
"""

from __future__ import annotations

from typing import Final

from bot.types import Topic
from bot.understanding.markets import CODES

TOPIC_GUIDE: Final[dict[Topic, str]] = {
    Topic.CONNECT_START: "wants to connect an Amazon account, or asks how to begin (new customer or existing user)",
    Topic.CONNECT_REQUIREMENTS: "asks what they need before connecting",
    Topic.CONNECT_ACCOUNT_TYPE: "Vendor vs Seller (1P/3P), both, picked the wrong one, unusual accounts",
    Topic.CONNECT_AGENCY: "an agency connecting a client's account: who grants what, who signs in",
    Topic.CONNECT_REGION: "which region (NA/EU/FE) a marketplace belongs to; several marketplaces",
    Topic.CONNECT_SP_API: "what SP-API is, whether it is required, the primary-user rule, the SP-API step failing",
    Topic.CONNECT_SECURITY: "is it safe, do you need my password, what access do you get",
    Topic.CONNECT_ADD_ACCOUNT: "where is Add Account, adding another marketplace as an existing user, "
                               "which profile to pick",
    Topic.CONNECT_ACCOUNT_NOT_LISTED: "the account does not appear after signing in to Amazon",
    Topic.CONNECT_AMAZON_ERROR: "an error on Amazon's pages or the sign-in window (codes such as MD1000, a window "
                                "that closes, a rejected password, access denied)",
    Topic.PREREQ_ADVERTISING: "never advertised, no active or only paused campaigns, campaign created minutes ago",
    Topic.PREREQ_PERMISSIONS: "not admin on Campaign Manager, Viewer only, how the owner grants View and Edit",
    Topic.PREREQ_PERMISSIONS_REFRESH: "already has View and Edit but Amazon does not recognise the user",
    Topic.SIGNUP_EMAIL: "verification or invitation email missing, forgot the password during sign-up",
    Topic.SIGNUP_ORGANIZATION: "what an Organization is, creating one",
    Topic.SYNC_STATUS: "is it connected, how long the first sync takes, no data yet, how much history",
    Topic.SYNC_OVERDUE: "still syncing or empty after 48 hours",
    Topic.HANDOFF_REQUEST: "wants a person, asks for their Data Strategist",
    Topic.INTEGRATOR_DISCONNECT: "an old PPC tool still has access, how to revoke it, agency side effects",
    Topic.ACCOUNT_TEAM: "invites, accepting an invite, a colleague already connected the account",
    Topic.ACCOUNT_LOGIN: "login codes (MFA), lost access to the login email, changing the login email",
    Topic.ACCOUNT_MANAGER: "grouping accounts, who owns an account",
    Topic.ACCOUNT_REMOVAL: "duplicate connection, disconnecting entirely, pausing or cancelling",
    Topic.BILLING: "fees, how connecting more marketplaces changes the bill",
    Topic.AD_STATUS: "status messages on products after connecting (red dot, not servable, Buy Box)",
    Topic.OFF_TOPIC: "anything else",
    Topic.CLARIFY: "too vague to act on (\"help, nothing works\")",
}

# The slots a model may fill, and the values each may take. Error codes and yes/no answers are left to
# the rules: codes must be the customer's own words, and a bare "yes" means something only at a step.
SLOT_GUIDE: Final[dict[str, str]] = {
    "account_type": '"vendor" (Vendor Central, 1P), "seller" (Seller Central, 3P) or "both"',
    "agency": "true when they speak as an agency for a client's account, false when it is their own",
    "marketplaces": "the Amazon marketplaces they name, as country codes from: " + ", ".join(CODES),
    "new_customer": "true when new here or signing up, false when an existing user",
    "advertised": "true when campaigns run or have run, false when they never advertised or none are running",
    "admin": "true when their login has admin or View and Edit access, false when Viewer only or not admin",
}


def system_prompt() -> str:
    """The instructions sent with every message: the topics, the slots and the one JSON shape to answer in."""
    topics = "\n".join(f"- {topic.value}: {TOPIC_GUIDE[topic]}" for topic in Topic)
    slots = "\n".join(f"- {name}: {meaning}" for name, meaning in SLOT_GUIDE.items())
    return (
        "You classify one message a customer wrote to the support chat of an advertising platform, "
        "about connecting their Amazon Ads account. You never answer the customer.\n\n"
        f"Topics (use these ids only):\n{topics}\n\n"
        f"Slots (leave out any the message does not state):\n{slots}\n\n"
        'Reply with one JSON object and nothing else: {"topics": [ids, the main question first, at most 3], '
        '"slots": {name: value}}. Use "clarify" when the message is too vague to act on.'
    )
