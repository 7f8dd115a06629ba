"""What the engine's entry points take and give back: results, refusals and the records they carry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.store.rows import AttemptRow
from bot.types import Outbound

MAX_TEXT = 4000  # characters of one customer message kept

CHECKING = "checking"  # a link's outcome while its callback talks to Amazon
RECHECK_DUE, RECHECKING = "recheck", "rechecking"  # a re-check timer's status: waiting, being run
RECHECK_LEASE = timedelta(minutes=5)  # a re-check whose worker died is taken again after this


class BadInput(ValueError):
    """The event cannot be handled as sent (no such choice, no pending link, no open case)."""


class UnknownConnection(BadInput):
    """A sync report names a connection id that does not exist."""


class SyncRegression(BadInput):
    """A sync report would move the stored status backwards (completed -> in progress, 60% -> 40%)."""


@dataclass
class TurnResult:
    conversation_id: int
    messages: list[Outbound] = field(default_factory=list)
    duplicate: bool = False

    @property
    def conversation(self) -> str:
        return f"c-{self.conversation_id}"


@dataclass(frozen=True)
class StoredGrant:
    """The newest Ads grant of a conversation, as a re-check needs it (the token still encrypted)."""

    connection_id: int
    region: str
    account_type: str
    marketplaces: list[str]
    refresh_token_ciphertext: str = field(repr=False)


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a link for a callback: the link, and why not if it cannot be used."""

    attempt: AttemptRow | None
    problem: str  # "" | unknown | used | expired


@dataclass(frozen=True)
class GrantRecord:
    """What a successful token exchange leaves to keep: never the plain refresh token."""

    refresh_token_ciphertext: str = field(repr=False)
    selling_partner_id: str | None = None


@dataclass
class CaseRow:
    id: int
    status: str
    reason: str
    packet: dict[str, Any]
