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

from sqlalchemy import Connection, and_, func, insert, or_, select, text, update
from sqlalchemy import Engine as DbEngine
from sqlalchemy.exc import DBAPIError

from bot.amazon.links import LinkBuilder, TokenSource, plan_link, random_tokens
from bot.amazon.marketplaces import marketplace
from bot.cases.policy import CasePolicy
from bot.clock import Clock, as_utc
from bot.config import Settings
from bot.logs import conversation_context
from bot.runner import Outcome, Planned, Runner
from bot.store.rows import (
    ATTEMPTS,
    CASES,
    CONNECTIONS,
    CONVERSATIONS,
    OUTBOX,
    TIMERS,
    TRANSCRIPT,
    AttemptRow,
    ConversationRow,
    Statements,
)
from bot.sync.report import SyncReport, regression
from bot.timers import timer_failed
from bot.types import Audience, CaseRef, Choice, ConversationKey, Inbound, InboundKind, Link, Outbound, Topic
from bot.wakeup import NOTIFY
from flows.base import CancelTimers, EscalateCase, OpenCase, RateCase, StartTimer, UpdateCase
from flows.handoff import REASON_TOPICS, SLA_TIMERS
from flows.journey import Journey
from flows.signin import RECHECK_TIMER

if TYPE_CHECKING:
    from bot.classify import Classifier

log = logging.getLogger("connectbot.engine")

MAX_TEXT = 4000  # characters of one customer message kept


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


CHECKING = "checking"  # a link's outcome while its callback talks to Amazon
RECHECK_DUE, RECHECKING = "recheck", "rechecking"  # a re-check timer's status: waiting, being run
RECHECK_LEASE = timedelta(minutes=5)  # a re-check whose worker died is taken again after this


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
        self.cases = CasePolicy.from_settings(
            settings.business_hours, settings.business_timezone, settings.case_sla, settings.strategist_routes,
            settings.strategist_default, settings.strategist_backup)

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

    def claim_link(self, state_token: str) -> Claim:
        """Take a link for one callback: exactly one of any number of concurrent callbacks gets it.

        The row is marked used before Amazon is called, so a replayed or doubled callback is refused
        even while the first is still talking to Amazon.
        """
        now = self.clock.now()
        with self.db.begin() as conn:
            attempt = self.sql.attempt(conn, state_token[:100])
            if attempt is None:
                return Claim(None, "unknown")
            if attempt.used_at is not None:
                return Claim(attempt, "used")
            if attempt.expires_at < now:
                return Claim(attempt, "expired")
            taken = conn.execute(update(ATTEMPTS).where(
                ATTEMPTS.c.id == attempt.id, ATTEMPTS.c.used_at.is_(None)).values(used_at=now, outcome=CHECKING))
            if taken.rowcount != 1:
                return Claim(attempt, "used")
        return Claim(attempt, "")

    def complete_link(self, state_token: str, verdict: dict[str, Any], grant: GrantRecord | None = None,
                      claimed: bool = False) -> TurnResult:
        """Amazon answered a link: record the verdict (and the grant) and let the conversation act on it.

        `claimed` says the caller took the link with claim_link first (the HTTP callback does);
        otherwise the link is taken here, once only.
        """
        with self.db.begin() as conn:
            attempt = self.sql.attempt(conn, state_token)
            if attempt is None:
                raise BadInput("this sign-in link is unknown")
            now = self.clock.now()
            if claimed:
                if attempt.outcome != CHECKING:
                    raise BadInput("this sign-in link was already used")
            elif attempt.used_at is not None:
                raise BadInput("this sign-in link was already used")
            elif attempt.expires_at < now:
                raise BadInput("this sign-in link has expired")
            conn.execute(update(ATTEMPTS).where(ATTEMPTS.c.id == attempt.id).values(
                used_at=attempt.used_at or now, outcome=str(verdict.get("result", ""))[:40], result=verdict))
            conversation = self._lock_conversation_by_id(conn, attempt.conversation_id)
            data: dict[str, Any] = {**verdict, "link": attempt.kind}
            if grant is not None:
                data["connection_id"] = self._store_grant(conn, conversation, attempt, verdict, grant, now)
            inbound = Inbound(InboundKind.AMAZON, key=f"oauth:{state_token}", data=data)
            return self._turn(conn, conversation, inbound, None)

    def link_expired(self, state_token: str) -> TurnResult:
        """The customer opened a link too late: the conversation offers a fresh one (once per link)."""
        with self.db.begin() as conn:
            attempt = self.sql.attempt(conn, state_token)
            if attempt is None:
                raise BadInput("this sign-in link is unknown")
            conversation = self._lock_conversation_by_id(conn, attempt.conversation_id)
            inbound = Inbound(InboundKind.AMAZON, key=f"expired:{state_token}",
                              data={"result": "link_expired", "region": attempt.region, "link": attempt.kind})
            return self._turn(conn, conversation, inbound, None)

    def _store_grant(self, conn: Connection, conversation: ConversationRow, attempt: AttemptRow,
                     verdict: dict[str, Any], grant: GrantRecord, now: datetime) -> int:
        """The connection record support needs; the refresh token only as ciphertext."""
        connection_id: int = conn.execute(insert(CONNECTIONS).values(
            conversation_id=conversation.id, org=conversation.org, kind="ads" if attempt.kind == "signin" else "spapi",
            account_type=attempt.account_type, region=attempt.region, profiles=list(verdict.get("found", [])),
            marketplaces=list(verdict.get("matched", attempt.marketplaces)), verdict=str(verdict.get("result", "")),
            selling_partner_id=grant.selling_partner_id, refresh_token=grant.refresh_token_ciphertext,
            created_at=now, sync_status="pending", sync_progress=0, sync_updated_at=None,
        ).returning(CONNECTIONS.c.id)).scalar_one()
        return connection_id

    def due_rechecks(self, limit: int = 10) -> list[tuple[int, int]]:
        """Take due re-checks for this worker: (timer id, conversation id). Abandoned ones come back after a lease."""
        now = self.clock.now()
        t = TIMERS.c
        query = select(t.id, t.conversation_id).where(t.kind == RECHECK_TIMER, t.due_at <= now, or_(
            t.status == RECHECK_DUE, and_(t.status == RECHECKING, t.fired_at < now - RECHECK_LEASE))).order_by(
            t.due_at).limit(limit)
        with self.db.begin() as conn:
            taken = list(conn.execute(query.with_for_update(skip_locked=True) if self._postgres else query))
            if taken:
                conn.execute(update(TIMERS).where(t.id.in_([row.id for row in taken])).values(
                    status=RECHECKING, fired_at=now))
        return [(row.id, row.conversation_id) for row in taken]

    def recheck_waiting(self) -> bool:
        with self.db.connect() as conn:
            return conn.execute(select(TIMERS.c.id).where(
                TIMERS.c.status == RECHECK_DUE, TIMERS.c.due_at <= self.clock.now()).limit(1)).first() is not None

    def grant_of(self, conversation_id: int) -> StoredGrant | None:
        with self.db.connect() as conn:
            c = CONNECTIONS.c
            row = conn.execute(select(CONNECTIONS).where(c.conversation_id == conversation_id, c.kind == "ads")
                               .order_by(c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return StoredGrant(row.id, row.region, row.account_type, list(row.marketplaces), row.refresh_token)

    def complete_recheck(self, timer_id: int, connection_id: int | None, verdict: dict[str, Any]) -> TurnResult:
        """What Amazon said on a re-check: the connection record and the conversation's turn, together."""
        with self.db.begin() as conn:
            timer = conn.execute(select(TIMERS).where(TIMERS.c.id == timer_id)).first()
            if timer is None or timer.status != RECHECKING:
                raise BadInput(f"re-check {timer_id} is not running")
            conversation = self._lock_conversation_by_id(conn, timer.conversation_id)
            stale = bool(timer.guard_state) and timer.guard_state != conversation.state
            conn.execute(update(TIMERS).where(TIMERS.c.id == timer_id).values(
                status="cancelled" if stale else "fired", fired_at=self.clock.now()))
            if connection_id is not None and "found" in verdict:
                conn.execute(update(CONNECTIONS).where(CONNECTIONS.c.id == connection_id).values(
                    profiles=list(verdict["found"]), verdict=str(verdict.get("result", ""))))
            if stale:  # the conversation moved on while Amazon was asked: nothing to say
                return TurnResult(conversation.id)
            data = {**verdict, "link": "recheck", **({"connection_id": connection_id} if connection_id else {})}
            return self._turn(conn, conversation, Inbound(InboundKind.AMAZON, f"recheck:{timer_id}", data=data), None)

    def outbox_after(self, conversation_id: int, after_id: int) -> list[tuple[int, dict[str, Any]]]:
        """Messages of a conversation written after outbox row `after_id`, oldest first: (id, payload)."""
        with self.db.connect() as conn:
            rows = conn.execute(select(OUTBOX.c.id, OUTBOX.c.payload).where(
                OUTBOX.c.conversation_id == conversation_id, OUTBOX.c.id > after_id).order_by(OUTBOX.c.id))
            return [(row.id, dict(row.payload)) for row in rows]

    def last_outbox_id(self, conversation_id: int) -> int:
        with self.db.connect() as conn:
            found = conn.execute(select(func.max(OUTBOX.c.id)).where(
                OUTBOX.c.conversation_id == conversation_id)).scalar()
            return int(found or 0)

    def conversation_channel(self, conversation_id: int) -> str:
        with self.db.connect() as conn:
            found = conn.execute(select(CONVERSATIONS.c.channel).where(
                CONVERSATIONS.c.id == conversation_id)).scalar()
            return str(found or "")

    def report_sync(self, connection_id: int, report: SyncReport, key: str) -> TurnResult:
        """The platform reports a connection's first sync: the row and the conversation's turn, in one transaction.

        A key seen before is a duplicate (TurnResult.duplicate, nothing written); a report that would move
        the stored status backwards raises SyncRegression; an unknown id raises UnknownConnection.
        """
        with self.db.begin() as conn:
            connection = self.sql.lock_connection(conn, connection_id)
            if connection is None:
                raise UnknownConnection(f"no connection with id {connection_id}")
            if self.sql.key_seen(conn, key):
                return TurnResult(connection.conversation_id, duplicate=True)
            backwards = regression(connection.sync_status, connection.sync_progress, report)
            if backwards:
                raise SyncRegression(f"connection {connection_id}: {backwards}")
            conversation = self._lock_conversation_by_id(conn, connection.conversation_id)
            inbound = Inbound(InboundKind.SYNC, key=key, data={**report.as_data(), "connection_id": connection_id})
            result = self._turn(conn, conversation, inbound, None)
            if not result.duplicate:
                conn.execute(update(CONNECTIONS).where(CONNECTIONS.c.id == connection_id).values(
                    sync_status=report.status, sync_progress=report.progress, sync_updated_at=self.clock.now()))
            return result

    def latest_connection(self, conversation_id: int) -> int | None:
        """The id of a conversation's newest Amazon connection: what a scripted sync report is about."""
        with self.db.connect() as conn:
            found = self.sql.latest_connection(conn, conversation_id)
            return found.id if found else None

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
            self._arm(conn, writes, conversation.id, kind, now + after, guard, now)
        case = self._load_case(conn, case_id)
        for effect in outcome.effects:
            if isinstance(effect, StartTimer):
                guard = outcome.state if effect.guarded else ""
                self._arm(conn, writes, conversation.id, effect.kind, now + effect.after, guard, now)
            elif isinstance(effect, CancelTimers):
                writes.drop_timers(effect.kind)
                conn.execute(self.sql.cancel_kind, {"cid": conversation.id, "b_kind": effect.kind})
            elif isinstance(effect, OpenCase):
                case = self._open_case(conn, conversation, outcome, effect, writes, now)
            elif isinstance(effect, UpdateCase) and case is not None:
                case = self._update_case(conn, case, effect, now)
            elif isinstance(effect, EscalateCase) and case is not None:
                conn.execute(update(CASES).where(CASES.c.id == case.id).values(
                    routed_to=self.cases.backup or case.packet.get("routed_to", ""), escalated_at=now))
            elif isinstance(effect, RateCase):
                conn.execute(update(CASES).where(CASES.c.id == effect.case_id).values(
                    rating=effect.rating, rated_at=now))
        return case

    def _arm(self, conn: Connection, writes: _Writes, conversation_id: int, kind: str, due: datetime, guard: str,
             now: datetime) -> None:
        """One pending timer per kind and conversation: arming again replaces it (a new link, new progress)."""
        writes.drop_timers(kind)
        conn.execute(self.sql.cancel_kind, {"cid": conversation_id, "b_kind": kind})
        writes.timer(conversation_id, kind, due, guard, now)

    def _load_case(self, conn: Connection, case_id: int | None) -> CaseRow | None:
        if case_id is None:
            return None
        row = conn.execute(CASES.select().where(CASES.c.id == case_id)).first()
        return CaseRow(row.id, row.status, row.reason, dict(row.packet)) if row else None

    def _open_case(self, conn: Connection, conversation: ConversationRow, outcome: Outcome, effect: OpenCase,
                   writes: _Writes, now: datetime) -> CaseRow:
        writes.flush(conn)  # the packet's transcript includes this turn's message
        packet = self._packet(conn, conversation, outcome, effect, now)
        routed_to = self.cases.route(conversation.org, packet["regions"])
        packet["routed_to"] = routed_to
        case_id = conn.execute(insert(CASES).values(
            conversation_id=conversation.id, status="open", reason=effect.reason, packet=packet, opened_at=now,
            routed_to=routed_to,
        ).returning(CASES.c.id)).scalar_one()
        j = outcome.journey
        j.case_id, j.case_status, j.case_route, j.case_backup = case_id, "open", routed_to, self.cases.backup
        # Unclaimed: a reminder after one SLA of business hours, the backup after a second one.
        for kind, due in zip(SLA_TIMERS, (self.cases.reminder_due(now), self.cases.escalation_due(now)), strict=True):
            self._arm(conn, writes, conversation.id, kind, due, "", now)
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
        verifier = (self.tokens() + self.tokens()) if kind == "signin" else ""
        plan = plan_link(kind, journey)
        account_type = journey.account_type or ""
        writes.attempts.append(dict(
            conversation_id=conversation_id, kind=kind, region=plan.region, marketplaces=plan.marketplaces,
            account_type=account_type, state_token=token, code_verifier=verifier, created_at=now,
            expires_at=now + timedelta(minutes=self.settings.link_ttl_minutes), used_at=None, outcome="", result={}))
        label = self.runner.templates.render(f"links/{kind}", {"region": plan.region, "account_type": account_type})
        return Link(label=label, url=self.links.short_url(token),
                    authorize_url=self.links.authorize_url(plan, account_type or "seller", token, verifier),
                    region=plan.region)

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

    def timer(self, conversation_id: int, kind: str, due: datetime, guard: str, now: datetime) -> None:
        # A re-check calls Amazon, so the worker's re-checker runs it (bot/amazon/recheck.py), never plain firing.
        status = RECHECK_DUE if kind == RECHECK_TIMER else "pending"
        self.timers.append(dict(conversation_id=conversation_id, kind=kind, guard_state=guard, due_at=due,
                                status=status, created_at=now, fired_at=None))

    def drop_timers(self, kind: str) -> None:
        """Timers of this kind armed earlier in the same turn and not written yet."""
        self.timers[:] = [t for t in self.timers if t["kind"] != kind]

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


def outbound_from_json(payload: dict[str, Any]) -> Outbound:
    """An outbox payload back as a message, for adapters that deliver from the outbox (choice values are labels)."""
    case = payload.get("case")
    return Outbound(
        audience=Audience(payload["audience"]), topic=Topic(payload["topic"]), text=str(payload["text"]),
        choices=tuple(Choice(str(label), str(label)) for label in payload.get("choices", [])),
        links=tuple(Link(str(li["label"]), str(li["url"]), str(li["authorize_url"]), str(li["region"]))
                    for li in payload.get("links", [])),
        case=CaseRef(str(case["id"]), str(case["status"]), str(case["reason"])) if isinstance(case, dict) else None,
    )
