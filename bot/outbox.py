"""Outbox delivery: claim due rows, deliver them, and keep the books (attempts, backoff, dead letters).

A worker leases a batch of rows (`claimed_by`, `lease_until`) in one short transaction, with
`FOR UPDATE SKIP LOCKED` on PostgreSQL so workers never wait on or share each other's rows, and
delivers them outside any transaction. Each try is recorded in `delivery_attempts`. A worker
killed mid-delivery simply lets its lease run out; the row is claimed again and sent again with
the same idempotency key, which the receiver honours, so the person sees it once. That is the
only way a receiver sees a key twice: restarts, never live workers racing.

Messages of one conversation to one audience leave in order: only the oldest pending row of each
(conversation, audience) can be claimed, so a message waiting for a retry holds back the ones
after it rather than letting them overtake it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine as DbEngine
from sqlalchemy import and_, bindparam, exists, insert, or_, select, update
from sqlalchemy.orm import aliased

from bot.clock import Clock, as_utc
from bot.config import Settings
from bot.delivery import Delivered, DeliveryTarget, Envelope, Refused, Result, TryAgain
from bot.logs import conversation_context
from bot.render import Templates
from bot.retry import backoff
from bot.store.models import DeliveryAttempt
from bot.store.rows import CONVERSATIONS, OUTBOX, table
from bot.types import Audience, Topic

log = logging.getLogger("connectbot.outbox")

ATTEMPTS = table(DeliveryAttempt)
ALERT_TOPIC = Topic.HANDOFF_REQUEST  # alerts go where escalations go: the strategists' channel


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    backoff_seconds: float
    backoff_cap_seconds: float
    lease: timedelta
    batch: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(settings.outbox_max_attempts, settings.outbox_backoff_seconds, settings.outbox_backoff_cap_seconds,
                   timedelta(seconds=settings.outbox_lease_seconds), settings.outbox_batch)


@dataclass(frozen=True)
class Claimed:
    envelope: Envelope
    attempt: int  # this try's number, 1 for the first
    created_at: datetime


def _claim_query(postgres: bool) -> Any:
    o = OUTBOX.c
    earlier = aliased(OUTBOX)
    now: Any = bindparam("now")
    query = (select(o.id).where(
        o.status == "pending",
        or_(o.next_attempt_at.is_(None), o.next_attempt_at <= now),
        or_(o.lease_until.is_(None), o.lease_until < now),
        ~exists().where(and_(earlier.c.conversation_id == o.conversation_id, earlier.c.audience == o.audience,
                             earlier.c.status == "pending", earlier.c.id < o.id)),
    ).order_by(o.id).limit(bindparam("n")))
    # SQLite has no row locks: its writers are serialised by BEGIN IMMEDIATE (bot/store/db.py).
    return query.with_for_update(skip_locked=True, of=OUTBOX) if postgres else query


class Outbox:
    """Claims and delivers outbox rows for one worker loop."""

    def __init__(self, db: DbEngine, clock: Clock, templates: Templates, target: DeliveryTarget, policy: Policy,
                 worker: str) -> None:
        self.db, self.clock, self.templates, self.target = db, clock, templates, target
        self.policy, self.worker = policy, worker
        self._claim = _claim_query(db.dialect.name == "postgresql")
        self.locally_delivered = 0  # of the last claim

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Claim one batch and deliver it; returns how many rows were tried. Stops early (releasing) on stop."""
        claimed = self.claim()
        for done, row in enumerate(claimed):
            if stop is not None and stop.is_set():
                self.release([c.envelope.outbox_id for c in claimed[done:]])
                return self.locally_delivered + done
            self.deliver(row)
        return self.locally_delivered + len(claimed)

    def run_round(self, stop: threading.Event | None = None, batches: int = 4) -> int:
        """Up to `batches` batches, fewer when the outbox runs dry; returns how many rows were handled."""
        handled = 0
        for _ in range(batches):
            done = self.run_once(stop)
            handled += done
            if done < self.policy.batch or (stop is not None and stop.is_set()):
                break
        return handled

    def claim(self) -> list[Claimed]:
        """Lease a batch; rows for audiences delivered locally are marked delivered in the same transaction."""
        now = self.clock.now()
        self.locally_delivered = 0
        with self.db.begin() as conn:
            ids = list(conn.execute(self._claim, {"now": now, "n": self.policy.batch}).scalars())
            if not ids:
                return []
            c = CONVERSATIONS.c
            rows = conn.execute(select(OUTBOX, c.channel, c.org, c.user_id).join(
                CONVERSATIONS, CONVERSATIONS.c.id == OUTBOX.c.conversation_id).where(
                OUTBOX.c.id.in_(ids)).order_by(OUTBOX.c.id)).all()
            local = {r.id for r in rows if self.target.is_local(r.audience)}
            remote = [r for r in rows if r.id not in local]
            if local:
                conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(local)).values(
                    status="delivered", delivered_at=now, attempts=OUTBOX.c.attempts + 1))
                conn.execute(insert(ATTEMPTS), [dict(outbox_id=i, attempt=1, worker=self.worker, started_at=now,
                                                     finished_at=now, outcome="delivered", http_status=None, error="")
                                                for i in local])
            if remote:
                conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_([r.id for r in remote])).values(
                    claimed_by=self.worker, lease_until=now + self.policy.lease, attempts=OUTBOX.c.attempts + 1))
        self.locally_delivered = len(local)
        for r in rows:
            if r.id in local:
                with conversation_context(f"c-{r.conversation_id}"):
                    log.info("delivered outbox %d to %s locally (the chat API serves it)", r.id, r.audience)
        return [Claimed(Envelope(r.id, r.conversation_id, r.audience, r.channel, r.org, r.user_id, dict(r.payload)),
                        r.attempts + 1, as_utc(r.created_at)) for r in remote]

    def release(self, ids: list[int]) -> None:
        """Give rows back without a try (shutting down): the next worker takes them at once."""
        if not ids:
            return
        with self.db.begin() as conn:
            conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids), OUTBOX.c.claimed_by == self.worker,
                                              OUTBOX.c.status == "pending").values(
                claimed_by=None, lease_until=None, attempts=OUTBOX.c.attempts - 1))
        log.info("released %d claimed outbox rows on shutdown", len(ids))

    def deliver(self, row: Claimed) -> Result:
        envelope = row.envelope
        with conversation_context(f"c-{envelope.conversation_id}"):
            started = self.clock.now()
            result = self.target.deliver(envelope, started)
            self._record(row, result, started, self.clock.now())
        return result

    # ---- bookkeeping ------------------------------------------------------------------------------

    def _record(self, row: Claimed, result: Result, started: datetime, finished: datetime) -> None:
        envelope, o = row.envelope, OUTBOX.c
        mine = and_(o.id == envelope.outbox_id, o.status == "pending")
        with self.db.begin() as conn:
            if isinstance(result, Delivered):
                outcome, error, status = "delivered", "", result.http_status
                conn.execute(update(OUTBOX).where(mine).values(
                    status="delivered", delivered_at=finished, claimed_by=None, lease_until=None, last_error=""))
                log.info("delivered outbox %d to %s (try %d, %.0f ms after it was written)", envelope.outbox_id,
                         envelope.audience, row.attempt, (finished - row.created_at).total_seconds() * 1000)
            elif isinstance(result, TryAgain) and row.attempt < self.policy.max_attempts:
                outcome, error, status = "retry", result.error, result.http_status
                delay = result.after if result.after is not None else backoff(
                    row.attempt, self.policy.backoff_seconds, self.policy.backoff_cap_seconds)
                conn.execute(update(OUTBOX).where(mine, o.claimed_by == self.worker).values(
                    next_attempt_at=finished + delay, claimed_by=None, lease_until=None, last_error=error))
                log.warning("delivery of outbox %d to %s failed (try %d of %d): %s; next try in %.0f s%s",
                            envelope.outbox_id, envelope.audience, row.attempt, self.policy.max_attempts, error,
                            delay.total_seconds(), " as the receiver asked" if result.after is not None else "")
            else:
                assert isinstance(result, TryAgain | Refused)
                outcome, error, status = "dead", result.error, result.http_status
                conn.execute(update(OUTBOX).where(mine).values(
                    status="dead", claimed_by=None, lease_until=None, last_error=error))
                self._alert(conn, envelope, row.attempt, error, finished)
            conn.execute(insert(ATTEMPTS).values(
                outbox_id=envelope.outbox_id, attempt=row.attempt, worker=self.worker, started_at=started,
                finished_at=finished, outcome=outcome, http_status=status, error=error))

    def _alert(self, conn: Any, envelope: Envelope, attempts: int, error: str, now: datetime) -> None:
        why = "refused" if attempts < self.policy.max_attempts else f"failed {attempts} times"
        if envelope.payload.get("alert"):
            # An alert that cannot be delivered must not raise another alert about itself: log it, stop there.
            log.error("alert outbox %d is dead (%s): %s; no further alert is raised", envelope.outbox_id, why, error)
            return
        log.error("outbox %d to %s is dead (%s): %s; alerting the strategists", envelope.outbox_id,
                  envelope.audience, why, error)
        insert_alert(conn, self.templates, envelope.conversation_id, now, {
            "kind": "message", "conversation": f"c-{envelope.conversation_id}", "audience": envelope.audience,
            "topic": envelope.payload.get("topic", ""), "attempts": attempts, "error": error,
            "outbox_id": envelope.outbox_id})


def insert_alert(conn: Any, templates: Templates, conversation_id: int, now: datetime,
                 facts: dict[str, Any]) -> None:
    """An alert for the strategists, written as an outbox row like any other message (and delivered the same way)."""
    text = templates.render("ops/dead_letter", {"what": "", **facts})
    payload = {"audience": Audience.STRATEGIST.value, "topic": ALERT_TOPIC.value, "text": text,
               "alert": {"kind": f"dead_{facts['kind']}", **{k: v for k, v in facts.items() if k.endswith("_id")}}}
    conn.execute(insert(OUTBOX).values(conversation_id=conversation_id, audience=Audience.STRATEGIST.value,
                                       topic=ALERT_TOPIC.value, payload=payload, created_at=now))
