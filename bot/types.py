"""The vocabulary every part of connectbot shares: channels, topics, inbound events, outbound messages.

Everything here is frozen and free of framework types, so flows, adapters and the store can all
speak it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    WEBCHAT = "webchat"
    SLACK = "slack"
    TERMINAL = "terminal"


class Audience(StrEnum):
    CUSTOMER = "customer"
    STRATEGIST = "strategist"
    AGENT = "agent"


class Topic(StrEnum):
    """The topic ids of design/topics.md; every bot message carries exactly one."""

    CONNECT_START = "connect.start"
    CONNECT_REQUIREMENTS = "connect.requirements"
    CONNECT_ACCOUNT_TYPE = "connect.account_type"
    CONNECT_AGENCY = "connect.agency"
    CONNECT_REGION = "connect.region"
    CONNECT_SP_API = "connect.sp_api"
    CONNECT_SECURITY = "connect.security"
    CONNECT_ADD_ACCOUNT = "connect.add_account"
    CONNECT_ACCOUNT_NOT_LISTED = "connect.account_not_listed"
    CONNECT_AMAZON_ERROR = "connect.amazon_error"
    PREREQ_ADVERTISING = "prereq.advertising"
    PREREQ_PERMISSIONS = "prereq.permissions"
    PREREQ_PERMISSIONS_REFRESH = "prereq.permissions_refresh"
    SIGNUP_EMAIL = "signup.email"
    SIGNUP_ORGANIZATION = "signup.organization"
    SYNC_STATUS = "sync.status"
    SYNC_OVERDUE = "sync.overdue"
    HANDOFF_REQUEST = "handoff.request"
    INTEGRATOR_DISCONNECT = "integrator.disconnect"
    ACCOUNT_TEAM = "account.team"
    ACCOUNT_LOGIN = "account.login"
    ACCOUNT_MANAGER = "account.manager"
    ACCOUNT_REMOVAL = "account.removal"
    BILLING = "billing"
    AD_STATUS = "ad_status"
    OFF_TOPIC = "off_topic"
    CLARIFY = "clarify"


class InboundKind(StrEnum):
    SAY = "say"  # free text from the customer
    CLICK = "click"  # the customer pressed one of the offered choices
    AMAZON = "amazon"  # Amazon's answer to a sign-in or consent link, after our callback checked it
    SYNC = "sync"  # the platform reports first-sync progress
    TIMER = "timer"  # a durable timer fell due
    STRATEGIST = "strategist"  # a Data Strategist acts on the conversation's case
    AGENT = "agent"  # a support agent acts on the conversation


@dataclass(frozen=True)
class ConversationKey:
    """Who the conversation is with, and where: one open conversation per key."""

    channel: Channel
    org: str
    user: str


@dataclass(frozen=True)
class Inbound:
    """One event into the engine. `key` makes it idempotent: the same key is handled once."""

    kind: InboundKind
    key: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Choice:
    label: str
    value: str


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    authorize_url: str
    region: str


@dataclass(frozen=True)
class CaseRef:
    id: str
    status: str
    reason: str


@dataclass(frozen=True)
class Outbound:
    """One message the bot sends, channel-neutral: adapters render it as Block Kit, widget JSON or text."""

    audience: Audience
    topic: Topic
    text: str
    choices: tuple[Choice, ...] = ()
    links: tuple[Link, ...] = ()
    case: CaseRef | None = None
    at: datetime | None = None
    author: str = ""  # the person who wrote it (a strategist's relayed reply), shown as theirs; "" = the bot
