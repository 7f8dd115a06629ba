"""The tables. Every row a turn writes is written in that turn's one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Column, Computed, DateTime, Index, String, Text
from sqlmodel import Field, SQLModel


def _at() -> Any:
    return Field(sa_column_kwargs={}, sa_type=DateTime(timezone=True))


def _at_or_none() -> Any:
    return Field(default=None, sa_type=DateTime(timezone=True))


def _from_slots(kind: Any, field: str) -> Any:
    """A journey field the database keeps beside `slots` (migration 0007): read by the report, never written.

    The DDL is the migration's (STORED on PostgreSQL, VIRTUAL on SQLite); `Computed` here keeps it out of
    every INSERT and UPDATE.
    """
    return Field(default=None, sa_column=Column(kind, Computed(f"slots ->> '{field}'"), nullable=True))


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_key", "channel", "org", "user_id", "status"),
                      Index("ix_conversations_live", "status", "updated_at", "id"))

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    org: str = Field(max_length=200)
    user_id: str = Field(max_length=200)
    status: str = Field(default="open", max_length=16)  # open | closed
    state: str = Field(max_length=120)
    slots: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 0
    created_at: datetime = _at()
    updated_at: datetime = _at()
    account_type: str | None = _from_slots(String(16), "account_type")
    prerequisites_ok: bool | None = _from_slots(Boolean, "prerequisites_ok")
    prerequisites_at: str | None = _from_slots(String(40), "prerequisites_at")  # ISO-8601, as the journey keeps it


class TranscriptEntry(SQLModel, table=True):
    __tablename__ = "transcript"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    at: datetime = _at()
    direction: str = Field(max_length=3)  # in | out
    kind: str = Field(max_length=16)  # inbound kind, or the audience of an outbound message
    topic: str = Field(default="", max_length=40)
    text: str = Field(sa_column=Column(Text, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ProcessedKey(SQLModel, table=True):
    """Idempotency keys of inbound events already handled: a duplicate stops at this table."""

    __tablename__ = "processed_keys"

    key: str = Field(primary_key=True, max_length=200)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    at: datetime = _at()


class Timer(SQLModel, table=True):
    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    kind: str = Field(max_length=40)
    # The state that armed the timer: leaving it cancels the timer. Empty for timers that outlive a state.
    guard_state: str = Field(default="", max_length=120)
    due_at: datetime = _at()
    status: str = Field(default="pending", max_length=16)  # pending | fired | cancelled | dead
    created_at: datetime = _at()
    fired_at: datetime | None = _at_or_none()
    # A firing that raised is retried with backoff (bot/retry.py); one that keeps raising is marked dead.
    attempts: int = 0
    retry_at: datetime | None = _at_or_none()
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class OutboxMessage(SQLModel, table=True):
    """Every message the bot sends, written in the turn that produced it, delivered after commit."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_undelivered", "delivered_at", "id"),
                      Index("ix_outbox_due", "status", "next_attempt_at", "id"))

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    audience: str = Field(max_length=16)
    topic: str = Field(max_length=40)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()
    delivered_at: datetime | None = _at_or_none()
    # Delivery bookkeeping (bot/outbox.py): a worker leases a row, delivers it, and marks it or backs off.
    status: str = Field(default="pending", max_length=16)  # pending | delivered | dead
    attempts: int = 0
    next_attempt_at: datetime | None = _at_or_none()  # None: due now
    claimed_by: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _at_or_none()
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class DeliveryAttempt(SQLModel, table=True):
    """One try at delivering an outbox row: who tried, when, and what the target answered."""

    __tablename__ = "delivery_attempts"

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox.id", index=True)
    attempt: int
    worker: str = Field(max_length=100)
    started_at: datetime = _at()
    finished_at: datetime = _at()
    outcome: str = Field(max_length=16)  # delivered | retry | dead
    http_status: int | None = None
    error: str = Field(default="", sa_column=Column(Text, nullable=False))


class WorkerHeartbeat(SQLModel, table=True):
    """One row per worker loop (a worker process, or the loop inside the embedded web process)."""

    __tablename__ = "worker_heartbeats"

    worker: str = Field(primary_key=True, max_length=100)
    started_at: datetime = _at()
    beat_at: datetime = _at()
    stopped_at: datetime | None = _at_or_none()


class HandoffCase(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_status", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    status: str = Field(default="open", max_length=16)  # open | claimed | returned | resolved
    reason: str = Field(max_length=40)
    packet: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    opened_at: datetime = _at()
    claimed_by: str | None = Field(default=None, max_length=200)
    claimed_at: datetime | None = _at_or_none()
    closed_at: datetime | None = _at_or_none()
    # Who is pinged (STRATEGIST_ROUTES), and the backup once nobody claimed it within two SLAs.
    routed_to: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    escalated_at: datetime | None = _at_or_none()
    # The customer's answer to the one satisfaction question after resolution: good | ok | bad.
    rating: str | None = Field(default=None, max_length=16)
    rated_at: datetime | None = _at_or_none()


class ConnectionAttempt(SQLModel, table=True):
    """One sign-in or consent link: its single-use state token, and what came back."""

    __tablename__ = "connection_attempts"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    kind: str = Field(max_length=16)  # signin | spapi
    region: str = Field(max_length=4)
    marketplaces: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    account_type: str = Field(default="", max_length=16)
    state_token: str = Field(unique=True, max_length=100)
    # PKCE: the verifier stays here; only its S256 challenge travels in the link.
    code_verifier: str = Field(default="", max_length=128)
    created_at: datetime = _at()
    expires_at: datetime = _at()
    used_at: datetime | None = _at_or_none()
    outcome: str = Field(default="", max_length=40)
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AmazonConnection(SQLModel, table=True):
    """An Amazon account connected through the bot: what support needs, and the encrypted grant.

    One row per successful token exchange (Ads sign-in or SP-API consent). `refresh_token` holds
    Fernet ciphertext only; the plain token never reaches a log, a transcript or a case packet.
    """

    __tablename__ = "connections"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    org: str = Field(max_length=200, index=True)
    kind: str = Field(max_length=16)  # ads | spapi
    account_type: str = Field(default="", max_length=16)
    region: str = Field(max_length=4)
    # What Amazon listed for this grant: [{"country", "type", "access", "profile_id"}], and the verdict.
    profiles: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    marketplaces: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    verdict: str = Field(default="", max_length=40)
    selling_partner_id: str | None = Field(default=None, max_length=100)
    refresh_token: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _at()
    # First-sync tracking, written by the sync webhook / poller.
    sync_status: str = Field(default="pending", max_length=16)  # pending | in_progress | completed | failed
    sync_progress: int = 0
    sync_updated_at: datetime | None = _at_or_none()


class RateWindow(SQLModel, table=True):
    """Requests counted per caller (an identity or an IP, hashed) and fixed window, shared by every web process."""

    __tablename__ = "rate_windows"

    key: str = Field(primary_key=True, max_length=80)
    window: int = Field(primary_key=True, sa_type=BigInteger)  # window start, seconds since 1970
    hits: int = 0


class SlackPost(SQLModel, table=True):
    """An outbox row posted to Slack: where it went and its `ts` (chat.update and button presses find it here).

    Written with `ts` empty just before chat.postMessage and filled right after: a row found with an
    empty `ts` was being posted when its worker died, so the next try looks for its marker in the
    channel before posting again (bot/channels/slack/target.py).
    """

    __tablename__ = "slack_posts"
    __table_args__ = (Index("ix_slack_posts_message", "channel", "ts"),)

    outbox_id: int = Field(primary_key=True, foreign_key="outbox.id")
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    channel: str = Field(max_length=40)
    thread_ts: str = Field(default="", max_length=40)
    ts: str = Field(default="", max_length=40)
    choices: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    posted_at: datetime = _at()


class SlackCard(SQLModel, table=True):
    """A case's card in the triage channel; `shown` is what it shows now, so a moved case is updated once."""

    __tablename__ = "slack_cards"
    __table_args__ = (Index("ix_slack_cards_message", "channel", "ts"),)

    case_id: int = Field(primary_key=True, foreign_key="cases.id")
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    channel: str = Field(max_length=40)
    ts: str = Field(max_length=40)
    shown: str = Field(default="", max_length=200)
    updated_at: datetime = _at()


class ReportSnapshot(SQLModel, table=True):
    """The console report's figures for one grouping, as last computed (bot/channels/console/report/snapshot.py).

    The page reads this row instead of computing medians over every conversation per view; the worker
    recomputes it every REPORT_REFRESH_SECONDS.
    """

    __tablename__ = "report_snapshots"

    grouping: str = Field(primary_key=True, max_length=16)  # all | channel | region | account_type | week
    computed_at: datetime = _at()
    took_ms: float = 0.0  # how long computing it took: what each view would cost without the snapshot
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ReportRefresh(SQLModel, table=True):
    """Who refreshes the report's snapshots and when next: one row, so one refresher at a time across workers."""

    __tablename__ = "report_refresh"

    name: str = Field(primary_key=True, max_length=16)
    due_at: datetime = _at()
    holder: str = Field(default="", max_length=100)
    lease_until: datetime | None = _at_or_none()  # a refresher that died gives its turn up after this
