"""One turn as one transaction: record the key, lock the conversation, decide, write everything.

A duplicate idempotency key stops at the first insert. The conversation row is locked for the
turn (SELECT ... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite), so two messages of one
conversation never interleave. State, transcript, timers, links, cases and outbox rows are
written together or not at all; if anything raises, the old state stands.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, text, update
from sqlalchemy import Engine as DbEngine
from sqlalchemy.exc import DBAPIError

from bot.amazon.links import LinkBuilder, TokenSource, plan_link, random_tokens
from bot.amazon.marketplaces import marketplace
from bot.clock import Clock, as_utc
from bot.config import Settings
from bot.logs import conversation_context
from bot.runner import Outcome, Planned, Runner
from bot.store.rows import (
    ATTEMPTS,
    CASES,
    OUTBOX,
    TIMERS,
    TRANSCRIPT,
    AttemptRow,
    ConversationRow,
    Statements,
)
from bot.timers import timer_failed
from bot.types import Audience, CaseRef, ConversationKey, Inbound, InboundKind, Link, Outbound, Topic
from bot.wakeup import NOTIFY
from flows.base import CancelTimers, OpenCase, StartTimer, UpdateCase
from flows.handoff import REASON_TOPICS
from flows.journey import Journey

if TYPE_CHECKING:
    from bot.classify import Classifier

log = logging.getLogger("connectbot.engine")

MAX_TEXT = 4000  # characters of one customer message kept


class BadInput(ValueError):
    """The event cannot be handled as sent (no such choice, no pending link, no open case)."""


@dataclass
class TurnResult:
    conversation_id: int
    messages: list[Outbound] = field(default_factory=list)
    duplicate: bool = False

    @property
    def conversation(self) -> str:
        return f"c-{self.conversation_id}"


@dataclass
class CaseRow:
    id: int
    status: str
    reason: str
    packet: dict[str, Any]




class Engine:
    def __init__(self, db: DbEngine, runner: Runner, classifier: Classifier, clock: Clock,
                 settings: Settings, tokens: TokenSource = random_tokens) -> None:
        self.db = db
        self.runner = runner
        self.classifier = classifier
        self.clock = clock
        self.settings = settings
        self.tokens = tokens
        self.links = LinkBuilder(settings)
        self._postgres = db.dialect.name == "postgresql"
        self.sql = Statements(self._postgres)

    # ---- public entry points --------------------------------------------------------------

    def handle(self, key: ConversationKey, inbound: Inbound) -> TurnResult:
        """Handle one inbound event of the conversation at `key`, exactly once per inbound.key."""
        heard = None
        if inbound.kind == InboundKind.SAY:
            # Classifying is CPU-only: done before the transaction so the row lock stays short.
            heard = self.classifier.understand(inbound.text[:MAX_TEXT])
        with self.db.begin() as conn:
            conversation = self._lock_conversation(conn, key)
            return self._turn(conn, conversation, inbound, heard)

    def complete_link(self, state_token: str, verdict: dict[str, Any]) -> TurnResult:
        """Amazon answered a link: mark it used (once only) and let the conversation act on it."""
        with self.db.begin() as conn:
            attempt = self.sql.attempt(conn, state_token)
            if attempt is None:
                raise BadInput("this sign-in link is unknown")
            if attempt.used_at is not None:
                raise BadInput("this sign-in link was already used")
            now = self.clock.now()
            if attempt.expires_at < now:
                raise BadInput("this sign-in link has expired")
            conn.execute(update(ATTEMPTS).where(ATTEMPTS.c.id == attempt.id).values(
                used_at=now, outcome=str(verdict.get("result", "")), result=verdict))
            conversation = self._lock_conversation_by_id(conn, attempt.conversation_id)
            inbound = Inbound(InboundKind.AMAZON, key=f"oauth:{state_token}",
                              data={**verdict, "link": attempt.kind})
            return self._turn(conn, conversation, inbound, None)

    def pending_link(self, conversation_id: int) -> AttemptRow | None:
        """The newest link of a conversation not used yet: what 'the customer opens the link' opens."""
        with self.db.connect() as conn:
            return self.sql.newest_unused(conn, conversation_id)

    def link(self, state_token: str) -> AttemptRow | None:
        with self.db.connect() as conn:
            return self.sql.attempt(conn, state_token[:100])

    def fire_due_timers(self, limit: int = 1000, batch: int = 1) -> list[TurnResult]:
        """Fire timers due by now, oldest first, each once: in its own transaction, or (batch > 1, the
        worker's throughput setting) up to `batch` per transaction, each still one turn of its conversation."""
        results: list[TurnResult] = []
        while len(results) < limit:
            if batch > 1:
                fired = self._fire_batch(min(batch, limit - len(results)))
            else:
                one = self._fire_next_timer()
                fired = [one] if one is not None else None
            if not fired:
                break
            results.extend(fired)
        return results

    def conversation_id_for(self, key: ConversationKey) -> int | None:
        with self.db.connect() as conn:
            row = self.sql.lock_open(conn, key.channel.value, key.org, key.user)
            return row.id if row else None

    def next_timer_due(self) -> datetime | None:
        with self.db.connect() as conn:
            return self.sql.earliest_due(conn)

    # ---- the turn -----------------------------------------------------------------------------

    def _turn(self, conn: Connection, conversation: ConversationRow, inbound: Inbound, heard: Any) -> TurnResult:
        with conversation_context(f"c-{conversation.id}"):  # every log line of the turn names its conversation
            return self._decide(conn, conversation, inbound, heard)

    def _decide(self, conn: Connection, conversation: ConversationRow, inbound: Inbound, heard: Any) -> TurnResult:
        result = TurnResult(conversation.id)
        now = self.clock.now()
        recorded = conn.execute(self.sql.record_key, {"key": inbound.key, "cid": conversation.id, "at": now}).first()
        if recorded is None:
            result.duplicate = True
            return result
        journey = Journey.model_validate(conversation.slots)
        self._check(conversation, journey, inbound)
        writes = _Writes()
        writes.transcript.append(dict(conversation_id=conversation.id, at=now, direction="in", topic="",
                                      kind=inbound.kind.value, text=_clean(inbound.text)[:MAX_TEXT],
                                      data=_public(inbound.data)))
        case_before = journey.case_id
        outcome = self.runner.run(conversation.state, journey, inbound, heard, now)
        case = self._apply_effects(conn, conversation, outcome, case_before, writes, now)
        for planned in outcome.messages:
            result.messages.append(self._send(conversation, outcome, planned, case, writes, now))
        if case is not None and any(isinstance(e, OpenCase) for e in outcome.effects):
            result.messages.append(self._ping(conversation, case, writes, now))
        writes.flush(conn)
        if self._postgres and result.messages and inbound.kind != InboundKind.TIMER:
            # Wakes the workers at commit (bot/wakeup.py). A timer's messages need no wake-up: the
            # worker that fired it delivers next, in the same round.
            conn.execute(NOTIFY)
        conn.execute(self.sql.save_conversation, {
            "cid": conversation.id, "b_state": outcome.state, "b_slots": outcome.journey.model_dump(mode="json"),
            "b_version": conversation.version + 1, "b_now": now})
        return result

    def _check(self, conversation: ConversationRow, journey: Journey, inbound: Inbound) -> None:
        if inbound.kind == InboundKind.CLICK and self.runner.find_option(conversation.state, inbound.text) is None:
            offered = ", ".join(o.label for o in self.runner.options_of(conversation.state)) or "none"
            raise BadInput(f"{inbound.text!r} is not a choice of the latest message (offered: {offered})")
        if inbound.kind == InboundKind.STRATEGIST and journey.case_id is None:
            raise BadInput("this conversation has no open case for a strategist to act on")

    # ---- effects ------------------------------------------------------------------------------

    def _apply_effects(self, conn: Connection, conversation: ConversationRow, outcome: Outcome,
                       case_id: int | None, writes: _Writes, now: datetime) -> CaseRow | None:
        left = [s for s in outcome.left if s != outcome.state]
        if left:
            conn.execute(self.sql.cancel_guarded, {"cid": conversation.id, "states": left})
        for kind, after, guard in outcome.arm:
            writes.timer(conversation.id, kind, after, guard, now)
        case = self._load_case(conn, case_id)
        for effect in outcome.effects:
            if isinstance(effect, StartTimer):
                writes.timer(conversation.id, effect.kind, effect.after, outcome.state if effect.guarded else "", now)
            elif isinstance(effect, CancelTimers):
                conn.execute(self.sql.cancel_kind, {"cid": conversation.id, "b_kind": effect.kind})
            elif isinstance(effect, OpenCase):
                case = self._open_case(conn, conversation, outcome, effect, writes, now)
            elif isinstance(effect, UpdateCase) and case is not None:
                case = self._update_case(conn, case, effect, now)
        return case

    def _load_case(self, conn: Connection, case_id: int | None) -> CaseRow | None:
        if case_id is None:
            return None
        row = conn.execute(CASES.select().where(CASES.c.id == case_id)).first()
        return CaseRow(row.id, row.status, row.reason, dict(row.packet)) if row else None

    def _open_case(self, conn: Connection, conversation: ConversationRow, outcome: Outcome, effect: OpenCase,
                   writes: _Writes, now: datetime) -> CaseRow:
        writes.flush(conn)  # the packet's transcript includes this turn's message
        packet = self._packet(conn, conversation, outcome, effect, now)
        case_id = conn.execute(insert(CASES).values(
            conversation_id=conversation.id, status="open", reason=effect.reason, packet=packet, opened_at=now,
        ).returning(CASES.c.id)).scalar_one()
        outcome.journey.case_id = case_id
        outcome.journey.case_status = "open"
        return CaseRow(case_id, "open", effect.reason, packet)

    def _update_case(self, conn: Connection, case: CaseRow, effect: UpdateCase, now: datetime) -> CaseRow:
        values: dict[str, Any] = {"status": effect.status}
        if effect.status == "claimed":
            values.update(claimed_by=effect.by or "a Data Strategist", claimed_at=now)
        if effect.status in ("returned", "resolved"):
            values["closed_at"] = now
        conn.execute(update(CASES).where(CASES.c.id == case.id).values(**values))
        case.status = effect.status
        return case

    def _packet(self, conn: Connection, conversation: ConversationRow, outcome: Outcome, effect: OpenCase,
                now: datetime) -> dict[str, Any]:
        """Everything a strategist needs without reading the chat."""
        j = outcome.journey
        regions = list(dict.fromkeys([*(c.region for c in j.connections), *j.pending_regions,
                                      *(str(marketplace(m).region) for m in j.marketplaces)]))
        transcript = self.sql.transcript(conn, conversation.id)
        return {
            "customer": conversation.user_id, "org": conversation.org, "channel": conversation.channel,
            "conversation": f"c-{conversation.id}",
            "reason": effect.reason, "note": effect.note,
            "account_type": j.account_type, "agency": bool(j.agency),
            "marketplaces": j.marketplaces, "regions": regions,
            "connected_regions": j.connected_regions,
            "step": j.resume_state or conversation.state,
            "errors": [e.model_dump(mode="json") for e in j.errors],
            "tried": j.tried,
            "sync": {"status": j.sync_status, "progress": j.sync_progress},
            "started_at": _iso(j.started_at or conversation.created_at),
            "connected_at": _iso(j.connected_at),
            "opened_at": _iso(now),
            "transcript": [{"at": _iso(t.at), "who": "customer" if t.direction == "in" else t.kind,
                            "kind": t.kind, "text": t.text} for t in transcript],
        }

    # ---- messages -----------------------------------------------------------------------------

    def _send(self, conversation: ConversationRow, outcome: Outcome, planned: Planned, case: CaseRow | None,
              writes: _Writes, now: datetime) -> Outbound:
        links: tuple[Link, ...] = ()
        if planned.link is not None:
            links = (self._new_link(writes, conversation.id, planned.link, outcome.journey, now),)
        case_ref = _case_ref(case) if planned.case_message and case is not None else None
        message = Outbound(audience=planned.audience, topic=planned.topic, text=planned.text,
                           choices=planned.choices, links=links, case=case_ref, at=now)
        writes.message(conversation.id, message, now)
        return message

    def _ping(self, conversation: ConversationRow, case: CaseRow, writes: _Writes, now: datetime) -> Outbound:
        text_ = self.runner.templates.render("handoff/ping", {"case_id": f"case-{case.id}", "packet": case.packet})
        message = Outbound(audience=Audience.STRATEGIST, topic=REASON_TOPICS.get(case.reason, Topic.HANDOFF_REQUEST),
                           text=text_, case=_case_ref(case), at=now)
        writes.message(conversation.id, message, now)
        return message

    def _new_link(self, writes: _Writes, conversation_id: int, kind: str, journey: Journey, now: datetime) -> Link:
        token = self.tokens()
        plan = plan_link(kind, journey)
        account_type = journey.account_type or ""
        writes.attempts.append(dict(
            conversation_id=conversation_id, kind=kind, region=plan.region, marketplaces=plan.marketplaces,
            account_type=account_type, state_token=token, created_at=now,
            expires_at=now + timedelta(minutes=self.settings.link_ttl_minutes), used_at=None, outcome="", result={}))
        label = self.runner.templates.render(f"links/{kind}", {"region": plan.region, "account_type": account_type})
        return Link(label=label, url=self.links.short_url(token),
                    authorize_url=self.links.authorize_url(plan, account_type or "seller", token), region=plan.region)

    # ---- locking ------------------------------------------------------------------------------

    def _lock_conversation(self, conn: Connection, key: ConversationKey) -> ConversationRow:
        if self._postgres:
            # Two first messages of a new conversation must not create it twice: serialise on the key.
            digest = int.from_bytes(hashlib.blake2b(
                f"{key.channel}|{key.org}|{key.user}".encode(), digest_size=8).digest(), "big", signed=True)
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": digest})
        found = self.sql.lock_open(conn, key.channel.value, key.org, key.user)
        if found is not None:
            return found
        return self.sql.create(conn, key.channel.value, key.org, key.user, self.runner.start_state, self.clock.now())

    def _lock_conversation_by_id(self, conn: Connection, conversation_id: int) -> ConversationRow:
        found = self.sql.lock_by_id(conn, conversation_id)
        if found is None:
            raise BadInput(f"conversation c-{conversation_id} does not exist")
        return found

    def _fire_next_timer(self) -> TurnResult | None:
        now = self.clock.now()
        try:
            return self._fire_claimed_timer(now)
        except _TimerFailed as failed:
            # The firing's transaction rolled back; note the failure so the timer backs off (or dies)
            # instead of blocking every timer due after it.
            timer_failed(self.db, self.runner.templates, failed.timer, failed.error, now, self.settings)
            return TurnResult(failed.timer.conversation_id)

    def _fire_batch(self, size: int) -> list[TurnResult] | None:
        now = self.clock.now()
        timers: list[Any] = []
        try:
            with self.db.begin() as conn:
                timers = list(conn.execute(self.sql.due_timers, {"now": now, "n": size}).all())
                if not timers:
                    return None
                # Every batch locks its conversations in one order, so two workers' batches cannot deadlock.
                timers.sort(key=lambda t: (t.conversation_id, t.due_at, t.id))
                return [self._fire(conn, timer, now) for timer in timers]
        except DBAPIError:
            raise
        except Exception:
            if not timers:
                raise
        # One timer spoiled the batch (it rolled back whole): fire them one by one, so only that one backs off.
        log.warning("a batch of %d timers failed; firing them one at a time", len(timers))
        results = []
        for _ in timers:
            result = self._fire_next_timer()
            if result is None:
                break
            results.append(result)
        return results

    def _fire_claimed_timer(self, now: datetime) -> TurnResult | None:
        timer: Any = None
        try:
            with self.db.begin() as conn:
                timer = conn.execute(self.sql.next_due_timer, {"now": now}).first()
                if timer is None:
                    return None
                return self._fire(conn, timer, now)
        except DBAPIError:
            raise  # the database itself is in trouble: the worker retries the round
        except Exception as exc:
            if timer is None:
                raise
            raise _TimerFailed(timer, exc) from exc

    def _fire(self, conn: Connection, timer: Any, now: datetime) -> TurnResult:
        conversation = self._lock_conversation_by_id(conn, timer.conversation_id)
        stale = bool(timer.guard_state) and timer.guard_state != conversation.state
        conn.execute(update(TIMERS).where(TIMERS.c.id == timer.id).values(
            status="cancelled" if stale else "fired", fired_at=now))
        if stale:  # the state it guarded is gone; nothing to say
            return TurnResult(conversation.id)
        inbound = Inbound(InboundKind.TIMER, key=f"timer:{timer.id}",
                          data={"kind": timer.kind, "guard": timer.guard_state})
        return self._turn(conn, conversation, inbound, None)


class _TimerFailed(Exception):
    def __init__(self, timer: Any, error: Exception) -> None:
        super().__init__(str(error))
        self.timer, self.error = timer, error


class _Writes:
    """The rows a turn writes, sent as one multi-row INSERT per table when the turn is decided."""

    def __init__(self) -> None:
        self.transcript: list[dict[str, Any]] = []
        self.outbox: list[dict[str, Any]] = []
        self.timers: list[dict[str, Any]] = []
        self.attempts: list[dict[str, Any]] = []

    def timer(self, conversation_id: int, kind: str, after: timedelta, guard: str, now: datetime) -> None:
        self.timers.append(dict(conversation_id=conversation_id, kind=kind, guard_state=guard, due_at=now + after,
                                status="pending", created_at=now, fired_at=None))

    def message(self, conversation_id: int, message: Outbound, now: datetime) -> None:
        payload = outbound_json(message)
        self.transcript.append(dict(conversation_id=conversation_id, at=now, direction="out",
                                    kind=message.audience.value, topic=message.topic.value, text=message.text,
                                    data={k: v for k, v in payload.items() if k in ("choices", "case")}))
        self.outbox.append(dict(conversation_id=conversation_id, audience=message.audience.value,
                                topic=message.topic.value, payload=payload, created_at=now, delivered_at=None))

    def flush(self, conn: Connection) -> None:
        for target, rows in ((TRANSCRIPT, self.transcript), (OUTBOX, self.outbox), (TIMERS, self.timers),
                             (ATTEMPTS, self.attempts)):
            if rows:
                conn.execute(insert(target), rows)
                rows.clear()


def _case_ref(case: CaseRow) -> CaseRef:
    return CaseRef(id=f"case-{case.id}", status=case.status, reason=case.reason)


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment else None


def _clean(text: str) -> str:
    """Control characters (but newlines and tabs) are dropped before anything is stored."""
    return "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())


def _public(data: dict[str, Any]) -> dict[str, Any]:
    """Inbound data as stored in the transcript: never a token, code or secret."""
    hidden = {"code_verifier", "access_token", "refresh_token", "client_secret", "spapi_oauth_code"}
    return {k: v for k, v in data.items() if k not in hidden}


def outbound_json(message: Outbound) -> dict[str, Any]:
    """An outbound message as the chat-jsonl protocol and the outbox carry it."""
    out: dict[str, Any] = {"audience": message.audience.value, "topic": message.topic.value, "text": message.text}
    if message.choices:
        out["choices"] = [c.label for c in message.choices]
    if message.links:
        out["links"] = [{"label": li.label, "url": li.url, "authorize_url": li.authorize_url, "region": li.region}
                        for li in message.links]
    if message.case:
        out["case"] = {"id": message.case.id, "status": message.case.status, "reason": message.case.reason}
    return out
