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

from sqlalchemy import Engine as DbEngine
from sqlalchemy import func, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.amazon.links import LinkBuilder, TokenSource, random_tokens
from bot.amazon.marketplaces import REGION_NAMES, Region, marketplace
from bot.clock import Clock, as_utc
from bot.config import Settings
from bot.runner import Outcome, Planned, Runner
from bot.store.models import (
    ConnectionAttempt,
    Conversation,
    HandoffCase,
    OutboxMessage,
    ProcessedKey,
    Timer,
    TranscriptEntry,
)
from bot.types import Audience, CaseRef, ConversationKey, Inbound, InboundKind, Link, Outbound, Topic
from flows.base import CancelTimers, OpenCase, StartTimer, UpdateCase
from flows.handoff import REASON_TOPICS
from flows.journey import Journey

if TYPE_CHECKING:
    from bot.classify import Classifier

log = logging.getLogger("connectbot.engine")

MAX_TEXT = 4000  # characters of one customer message kept; the rest is cut, and the customer told


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


REASON_TEXT = {
    "customer_request": "the customer asked for a person",
    "agent_handoff": "a support agent handed the conversation over",
    "sync_overdue": "first sync not complete 48 hours after connecting",
    "sync_failed": "the first sync failed",
    "amazon_error": "Amazon returned an error the bot cannot fix",
    "repeated_failures": "repeated sign-in failures",
    "permissions_refresh_failed": "access still not recognised after the users were removed and re-added",
    "account_not_listed": "the account is not listed after signing in",
    "signup_email": "the verification email never arrived",
    "not_understood": "the bot could not understand the customer",
    "account_removal": "the customer wants an account removed or cancelled",
}


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

    # ---- public entry points --------------------------------------------------------------

    def handle(self, key: ConversationKey, inbound: Inbound) -> TurnResult:
        """Handle one inbound event of the conversation at `key`, exactly once per inbound.key."""
        heard = None
        if inbound.kind == InboundKind.SAY:
            # Classifying is CPU-only: done before the transaction so the row lock stays short.
            heard = self.classifier.understand(inbound.text[:MAX_TEXT])
        with Session(self.db, expire_on_commit=False) as session, session.begin():
            conversation = self._lock_conversation(session, key)
            return self._turn(session, conversation, inbound, heard)

    def complete_link(self, state_token: str, verdict: dict[str, Any]) -> TurnResult:
        """Amazon answered a link: mark it used (once only) and let the conversation act on it."""
        with Session(self.db, expire_on_commit=False) as session, session.begin():
            attempt = session.exec(select(ConnectionAttempt).where(
                ConnectionAttempt.state_token == state_token).with_for_update()).first()
            if attempt is None:
                raise BadInput("this sign-in link is unknown")
            if attempt.used_at is not None:
                raise BadInput("this sign-in link was already used")
            now = self.clock.now()
            if as_utc(attempt.expires_at) < now:
                raise BadInput("this sign-in link has expired")
            attempt.used_at = now
            attempt.outcome = str(verdict.get("result", ""))
            attempt.result = verdict
            session.add(attempt)
            conversation = self._lock_conversation_by_id(session, attempt.conversation_id)
            inbound = Inbound(InboundKind.AMAZON, key=f"oauth:{state_token}",
                              data={**verdict, "link": attempt.kind})
            return self._turn(session, conversation, inbound, None)

    def pending_link(self, conversation_id: int) -> ConnectionAttempt | None:
        """The newest link of a conversation not used yet: what 'the customer opens the link' opens."""
        with Session(self.db, expire_on_commit=False) as session:
            return session.exec(
                select(ConnectionAttempt)
                .where(ConnectionAttempt.conversation_id == conversation_id,
                       col(ConnectionAttempt.used_at).is_(None))
                .order_by(col(ConnectionAttempt.id).desc())
            ).first()

    def fire_due_timers(self, limit: int = 1000) -> list[TurnResult]:
        """Fire every timer due by now, oldest first, each in its own transaction."""
        results: list[TurnResult] = []
        for _ in range(limit):
            result = self._fire_next_timer()
            if result is None:
                break
            results.append(result)
        return results

    def conversation_id_for(self, key: ConversationKey) -> int | None:
        with Session(self.db) as session:
            found = session.exec(select(Conversation.id).where(
                Conversation.channel == key.channel.value, Conversation.org == key.org,
                Conversation.user_id == key.user, Conversation.status == "open")).first()
            return found

    # ---- the turn -----------------------------------------------------------------------------

    def _turn(self, session: Session, conversation: Conversation, inbound: Inbound,
              heard: Any) -> TurnResult:
        assert conversation.id is not None
        result = TurnResult(conversation.id)
        now = self.clock.now()
        if not self._first_time(session, inbound.key, conversation.id, now):
            result.duplicate = True
            return result
        journey = Journey.model_validate(conversation.slots)
        self._check(conversation, journey, inbound)
        case_before = journey.case_id
        session.add(TranscriptEntry(conversation_id=conversation.id, at=now, direction="in",
                                    kind=inbound.kind.value, text=_clean(inbound.text)[:MAX_TEXT],
                                    data=_public(inbound.data)))
        outcome = self.runner.run(conversation.state, journey, inbound, heard, now)
        case = self._apply_effects(session, conversation, outcome, case_before, now)
        for planned in outcome.messages:
            result.messages.append(self._send(session, conversation, outcome, planned, case, now))
        if case is not None and outcome.effects and any(isinstance(e, OpenCase) for e in outcome.effects):
            result.messages.append(self._ping(session, conversation, outcome, case, now))
        conversation.state = outcome.state
        conversation.slots = outcome.journey.model_dump(mode="json")
        conversation.version += 1
        conversation.updated_at = now
        session.add(conversation)
        return result

    def _check(self, conversation: Conversation, journey: Journey, inbound: Inbound) -> None:
        if inbound.kind == InboundKind.CLICK and self.runner.find_option(conversation.state, inbound.text) is None:
            offered = ", ".join(o.label for o in self.runner.options_of(conversation.state)) or "none"
            raise BadInput(f"{inbound.text!r} is not a choice of the latest message (offered: {offered})")
        if inbound.kind == InboundKind.STRATEGIST and journey.case_id is None:
            raise BadInput("this conversation has no open case for a strategist to act on")

    def _first_time(self, session: Session, key: str, conversation_id: int, now: datetime) -> bool:
        if session.get(ProcessedKey, key) is not None:
            return False
        session.add(ProcessedKey(key=key, conversation_id=conversation_id, at=now))
        try:
            session.flush()
        except IntegrityError:  # another process recorded it first
            raise BadInput(f"event {key} is being handled already") from None
        return True

    # ---- effects ------------------------------------------------------------------------------

    def _apply_effects(self, session: Session, conversation: Conversation, outcome: Outcome,
                       case_id: int | None, now: datetime) -> HandoffCase | None:
        assert conversation.id is not None
        left = [s for s in outcome.left if s != outcome.state]
        if left:
            session.execute(update(Timer).where(
                col(Timer.conversation_id) == conversation.id, col(Timer.status) == "pending",
                col(Timer.guard_state).in_(left)).values(status="cancelled"))
        for kind, after, guard in outcome.arm:
            self._arm(session, conversation.id, kind, after, guard, now)
        case = session.get(HandoffCase, case_id) if case_id else None
        for effect in outcome.effects:
            if isinstance(effect, StartTimer):
                guard = outcome.state if effect.guarded else ""
                self._arm(session, conversation.id, effect.kind, effect.after, guard, now)
            elif isinstance(effect, CancelTimers):
                session.execute(update(Timer).where(
                    col(Timer.conversation_id) == conversation.id, col(Timer.status) == "pending",
                    col(Timer.kind) == effect.kind).values(status="cancelled"))
            elif isinstance(effect, OpenCase):
                case = self._open_case(session, conversation, outcome, effect, now)
            elif isinstance(effect, UpdateCase):
                case = self._update_case(session, case, effect, now)
        return case

    def _arm(self, session: Session, conversation_id: int, kind: str, after: timedelta, guard: str,
             now: datetime) -> None:
        session.add(Timer(conversation_id=conversation_id, kind=kind, guard_state=guard,
                          due_at=now + after, created_at=now))

    def _open_case(self, session: Session, conversation: Conversation, outcome: Outcome, effect: OpenCase,
                   now: datetime) -> HandoffCase:
        assert conversation.id is not None
        case = HandoffCase(conversation_id=conversation.id, reason=effect.reason, opened_at=now,
                           packet=self._packet(session, conversation, outcome, effect, now))
        session.add(case)
        session.flush()
        outcome.journey.case_id = case.id
        outcome.journey.case_status = "open"
        return case

    def _update_case(self, session: Session, case: HandoffCase | None, effect: UpdateCase,
                     now: datetime) -> HandoffCase | None:
        if case is None:
            return None
        case.status = effect.status
        if effect.status == "claimed":
            case.claimed_by = effect.by or case.claimed_by or "a Data Strategist"
            case.claimed_at = now
        if effect.status in ("returned", "resolved"):
            case.closed_at = now
        session.add(case)
        return case

    def _packet(self, session: Session, conversation: Conversation, outcome: Outcome, effect: OpenCase,
                now: datetime) -> dict[str, Any]:
        """Everything a strategist needs without reading the chat."""
        j = outcome.journey
        regions = list(dict.fromkeys([*(c.region for c in j.connections), *j.pending_regions,
                                      *(str(marketplace(m).region) for m in j.marketplaces)]))
        transcript = session.exec(select(TranscriptEntry).where(
            TranscriptEntry.conversation_id == conversation.id).order_by(col(TranscriptEntry.id))).all()
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

    def _send(self, session: Session, conversation: Conversation, outcome: Outcome, planned: Planned,
              case: HandoffCase | None, now: datetime) -> Outbound:
        assert conversation.id is not None
        links: tuple[Link, ...] = ()
        if planned.link is not None:
            links = (self._new_link(session, conversation.id, planned.link, outcome.journey, now),)
        case_ref = _case_ref(case) if planned.case_message and case is not None else None
        message = Outbound(audience=planned.audience, topic=planned.topic, text=planned.text,
                           choices=planned.choices, links=links, case=case_ref, at=now)
        self._store(session, conversation.id, message, now)
        return message

    def _ping(self, session: Session, conversation: Conversation, outcome: Outcome, case: HandoffCase,
              now: datetime) -> Outbound:
        assert conversation.id is not None
        text = self.runner.templates.render("handoff/ping", {
            "case_id": f"case-{case.id}", "packet": case.packet,
            "reason_text": REASON_TEXT.get(case.reason, case.reason)})
        message = Outbound(audience=Audience.STRATEGIST, topic=REASON_TOPICS.get(case.reason, Topic.HANDOFF_REQUEST),
                           text=text, case=_case_ref(case), at=now)
        self._store(session, conversation.id, message, now)
        return message

    def _store(self, session: Session, conversation_id: int, message: Outbound, now: datetime) -> None:
        payload = outbound_json(message)
        session.add(TranscriptEntry(conversation_id=conversation_id, at=now, direction="out",
                                    kind=message.audience.value, topic=message.topic.value, text=message.text,
                                    data={k: v for k, v in payload.items() if k in ("choices", "case")}))
        session.add(OutboxMessage(conversation_id=conversation_id, audience=message.audience.value,
                                  topic=message.topic.value, payload=payload, created_at=now))

    def _new_link(self, session: Session, conversation_id: int, kind: str, journey: Journey,
                  now: datetime) -> Link:
        token = self.tokens()
        expires = now + timedelta(minutes=self.settings.link_ttl_minutes)
        if kind == "signin":
            region = journey.pending_regions[0] if journey.pending_regions else "NA"
            markets = [m for m in journey.marketplaces if str(marketplace(m).region) == region]
            authorize = self.links.signin(region, token)
            label = f"Sign in with Amazon ({REGION_NAMES[Region(region)]})"
        else:
            markets = journey.marketplaces[:1] or [c.marketplaces[0] for c in journey.connections
                                                    if c.marketplaces][:1] or ["US"]
            region = str(marketplace(markets[0]).region)
            authorize = self.links.consent(markets[0], journey.account_type or "seller", token)
            central = "Vendor Central" if journey.account_type == "vendor" else "Seller Central"
            label = f"Approve SP-API in {central}"
        session.add(ConnectionAttempt(conversation_id=conversation_id, kind=kind, region=region,
                                      marketplaces=markets, account_type=journey.account_type or "",
                                      state_token=token, created_at=now, expires_at=expires))
        return Link(label=label, url=self.links.short_url(token), authorize_url=authorize, region=region)

    # ---- locking ------------------------------------------------------------------------------

    def _lock_conversation(self, session: Session, key: ConversationKey) -> Conversation:
        if self._postgres:
            # Two first messages of a new conversation must not create it twice: serialise on the key.
            digest = int.from_bytes(hashlib.blake2b(
                f"{key.channel}|{key.org}|{key.user}".encode(), digest_size=8).digest(), "big", signed=True)
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": digest})
        found = session.exec(select(Conversation).where(
            Conversation.channel == key.channel.value, Conversation.org == key.org,
            Conversation.user_id == key.user, Conversation.status == "open",
        ).order_by(col(Conversation.id).desc()).with_for_update()).first()
        if found is not None:
            return found
        now = self.clock.now()
        import flows  # the start state is the flows' to name

        conversation = Conversation(channel=key.channel.value, org=key.org, user_id=key.user,
                                    state=flows.START.value, slots={}, created_at=now, updated_at=now)
        session.add(conversation)
        session.flush()
        return conversation

    def _lock_conversation_by_id(self, session: Session, conversation_id: int) -> Conversation:
        found = session.exec(select(Conversation).where(Conversation.id == conversation_id)
                             .with_for_update()).first()
        if found is None:
            raise BadInput(f"conversation c-{conversation_id} does not exist")
        return found

    def _fire_next_timer(self) -> TurnResult | None:
        now = self.clock.now()
        with Session(self.db, expire_on_commit=False) as session, session.begin():
            query = (select(Timer).where(Timer.status == "pending", col(Timer.due_at) <= now)
                     .order_by(col(Timer.due_at), col(Timer.id)).limit(1))
            if self._postgres:
                query = query.with_for_update(skip_locked=True)
            timer = session.exec(query).first()
            if timer is None:
                return None
            conversation = self._lock_conversation_by_id(session, timer.conversation_id)
            timer.status = "fired"
            timer.fired_at = now
            session.add(timer)
            if timer.guard_state and timer.guard_state != conversation.state:
                timer.status = "cancelled"  # the state it guarded is gone; nothing to say
                return TurnResult(conversation.id or 0)
            inbound = Inbound(InboundKind.TIMER, key=f"timer:{timer.id}",
                              data={"kind": timer.kind, "guard": timer.guard_state})
            return self._turn(session, conversation, inbound, None)

    def next_timer_due(self) -> datetime | None:
        with Session(self.db) as session:
            due = session.exec(select(func.min(Timer.due_at)).where(Timer.status == "pending")).first()
            return as_utc(due) if due else None


def _case_ref(case: HandoffCase) -> CaseRef:
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
