"""One turn as one transaction: record the key, lock the conversation, decide, write everything.

A duplicate idempotency key stops at the first insert. The conversation row is locked for the
turn (SELECT ... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite), so two messages of one
conversation never interleave. State, transcript, timers, links, cases and outbox rows are
written together or not at all; if anything raises, the old state stands.

`Turns` holds what every entry point shares (the database, the runner, the clock, the prepared
statements) and the turn itself; the other entry points (links, grants, sync, timers) live in
their own modules beside this one and call `begin`, `lock*` and `run`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, update
from sqlalchemy import Engine as DbEngine

from bot.amazon.links import LinkBuilder, TokenSource, plan_link, random_tokens
from bot.cases.policy import CasePolicy
from bot.clock import Clock
from bot.config import Settings
from bot.engine import cases
from bot.engine.notices import Notices
from bot.engine.records import MAX_TEXT, BadInput, CaseRow, TurnResult
from bot.engine.writes import Writes
from bot.logs import conversation_context
from bot.runner import Outcome, Planned, Runner
from bot.store.hotpath import TurnStatements
from bot.store.rows import CASES, ConversationRow, Statements
from bot.types import ConversationKey, Inbound, InboundKind, Link, Outbound
from bot.understanding.second_opinion import second_opinion_for
from flows.base import CancelTimers, EscalateCase, OpenCase, RateCase, StartTimer, UpdateCase
from flows.journey import Journey

if TYPE_CHECKING:
    from bot.classify import Classifier


class Turns:
    """The turn, and the transaction and locking every entry point of the engine shares."""

    def __init__(self, db: DbEngine, runner: Runner, classifier: Classifier, clock: Clock,
                 settings: Settings, tokens: TokenSource = random_tokens) -> None:
        self.db = db
        self.runner = runner
        self.classifier = classifier
        self.second_opinion = second_opinion_for(settings, classifier)  # None unless LLM_BASE_URL is set
        self.clock = clock
        self.settings = settings
        self.tokens = tokens
        self.links = LinkBuilder(settings)
        self.postgres = db.dialect.name == "postgresql"
        self.sql = Statements(self.postgres)
        self.notices = Notices(self.postgres)
        self.hot = TurnStatements(db.dialect)  # the turn's own statements, prepared once (bot/store/hotpath.py)
        self.cases = CasePolicy.from_settings(
            settings.business_hours, settings.business_timezone, settings.case_sla, settings.strategist_routes,
            settings.strategist_default, settings.strategist_backup)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """The one transaction of an entry point: everything it writes commits together or not at all.
        After the commit, whoever watches the conversations it wrote to is told (in-process notices)."""
        with self.db.connect() as conn:
            try:
                with conn.begin():
                    yield conn
            except BaseException:
                self.notices.forget(conn)
                raise
            touched = self.notices.forget(conn)
        self.notices.committed(touched)

    # ---- the customer's turn ------------------------------------------------------------------

    def handle(self, key: ConversationKey, inbound: Inbound) -> TurnResult:
        """Handle one inbound event of the conversation at `key`, exactly once per inbound.key."""
        heard = None
        if inbound.kind == InboundKind.SAY:
            # Classifying is CPU-only: done before the transaction so the row lock stays short.
            text = inbound.text[:MAX_TEXT]
            heard = self.classifier.understand(text)
            if self.second_opinion is not None:
                # May wait seconds for a language model, so before the transaction too: no lock is held.
                heard = self.second_opinion.review(text, heard)
        with self.begin() as conn:
            now = self.clock.now()
            conversation, recorded = self._lock_recording(conn, key, inbound.key, now)
            return self.run(conn, conversation, inbound, heard, recorded, now)

    def run(self, conn: Connection, conversation: ConversationRow, inbound: Inbound, heard: Any,
            recorded: bool | None = None, now: datetime | None = None) -> TurnResult:
        """One turn of a locked conversation, inside the caller's transaction. `recorded`: whether the
        caller already recorded inbound.key with the lock (True: new, False: a duplicate); None: not yet."""
        with conversation_context(f"c-{conversation.id}"):  # every log line of the turn names its conversation
            return self._decide(conn, conversation, inbound, heard, recorded, now or self.clock.now())

    def _decide(self, conn: Connection, conversation: ConversationRow, inbound: Inbound, heard: Any,
                recorded: bool | None, now: datetime) -> TurnResult:
        if recorded is None:
            recorded = self.hot.record_key(conn, inbound.key, conversation.id, now)
        if not recorded:
            return TurnResult(conversation.id, duplicate=True)
        writes = Writes(self.hot, conversation.id)
        result, outcome = self.decide(conn, conversation, inbound, heard, writes, now)
        writes.flush(conn)
        if result.messages or inbound.kind in (InboundKind.SAY, InboundKind.CLICK):
            # At commit: open streams of this conversation look (bot/engine/notices.py), and idle workers
            # wake (bot/wakeup.py). A timer's messages need no wake-up: the worker that fired it delivers next.
            self.notices.written(conn, conversation.id,
                                 wake_workers=bool(result.messages) and inbound.kind != InboundKind.TIMER)
        self.hot.save(conn, conversation.id, outcome.state, outcome.journey.model_dump_json(),
                      conversation.version + 1, now)
        return result

    def decide(self, conn: Connection, conversation: ConversationRow, inbound: Inbound, heard: Any, writes: Writes,
               now: datetime) -> tuple[TurnResult, Outcome]:
        """The turn of an inbound whose key is recorded: its rows gathered in `writes` (not flushed), its
        outcome for the caller to save. The customer's turn flushes and saves at once; a batch of
        timer turns flushes and saves all of them together."""
        result = TurnResult(conversation.id)
        journey = Journey.model_validate(conversation.slots)
        self._check(conversation, journey, inbound)
        writes.conversation_id = conversation.id
        writes.transcript.append(dict(conversation_id=conversation.id, at=now, direction="in", topic="",
                                      kind=inbound.kind.value, text=_clean(inbound.text)[:MAX_TEXT],
                                      data=_public(inbound.data)))
        case_before = journey.case_id
        outcome = self.runner.run(conversation.state, journey, inbound, heard, now)
        case = self._apply_effects(conn, conversation, outcome, case_before, writes, now)
        for planned in outcome.messages:
            result.messages.append(self._send(conversation, outcome, planned, case, writes, now))
        if case is not None and any(isinstance(e, OpenCase) for e in outcome.effects):
            result.messages.append(cases.ping(self, conversation, case, writes, now))
        return result, outcome

    def _check(self, conversation: ConversationRow, journey: Journey, inbound: Inbound) -> None:
        clicked = inbound.kind == InboundKind.CLICK
        if clicked and not self.runner.accepts_click(conversation.state, journey, inbound.text):
            offered = ", ".join(o.label for o in self.runner.options_of(conversation.state)) or "none"
            raise BadInput(f"{inbound.text!r} is not a choice of the latest message (offered: {offered})")
        if inbound.kind == InboundKind.STRATEGIST and journey.case_id is None:
            raise BadInput("this conversation has no open case for a strategist to act on")

    # ---- effects ------------------------------------------------------------------------------

    def _apply_effects(self, conn: Connection, conversation: ConversationRow, outcome: Outcome,
                       case_id: int | None, writes: Writes, now: datetime) -> CaseRow | None:
        writes.cancel_guarding([s for s in outcome.left if s != outcome.state])
        for kind, after, guard in outcome.arm:
            self.arm(conn, writes, conversation.id, kind, now + after, guard, now)
        case = cases.load_case(conn, case_id)
        for effect in outcome.effects:
            if isinstance(effect, StartTimer):
                guard = outcome.state if effect.guarded else ""
                self.arm(conn, writes, conversation.id, effect.kind, now + effect.after, guard, now)
            elif isinstance(effect, CancelTimers):
                writes.cancel_kind(effect.kind)
            elif isinstance(effect, OpenCase):
                case = cases.open_case(self, conn, conversation, outcome, effect, writes, now)
            elif isinstance(effect, UpdateCase) and case is not None:
                case = cases.update_case(conn, case, effect, now)
            elif isinstance(effect, EscalateCase) and case is not None:
                conn.execute(update(CASES).where(CASES.c.id == case.id).values(
                    routed_to=self.cases.backup or case.packet.get("routed_to", ""), escalated_at=now))
            elif isinstance(effect, RateCase):
                conn.execute(update(CASES).where(CASES.c.id == effect.case_id).values(
                    rating=effect.rating, rated_at=now))
        return case

    def arm(self, conn: Connection, writes: Writes, conversation_id: int, kind: str, due: datetime, guard: str,
            now: datetime) -> None:
        """One pending timer per kind and conversation: arming again replaces it (a new link, new progress)."""
        writes.cancel_kind(kind)
        writes.timer(conversation_id, kind, due, guard, now)

    # ---- messages -----------------------------------------------------------------------------

    def _send(self, conversation: ConversationRow, outcome: Outcome, planned: Planned, case: CaseRow | None,
              writes: Writes, now: datetime) -> Outbound:
        links: tuple[Link, ...] = ()
        if planned.link is not None:
            links = (self._new_link(writes, conversation.id, planned.link, outcome.journey, now),)
        case_ref = cases.case_ref(case) if planned.case_message and case is not None else None
        message = Outbound(audience=planned.audience, topic=planned.topic, text=planned.text,
                           choices=planned.choices, links=links, case=case_ref, at=now, author=planned.author)
        writes.message(conversation.id, message, now)
        return message

    def _new_link(self, writes: Writes, conversation_id: int, kind: str, journey: Journey, now: datetime) -> Link:
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

    def lock(self, conn: Connection, key: ConversationKey) -> ConversationRow:
        """The open conversation at `key`, locked for this transaction; created when there is none."""
        found = self.hot.lock_open(conn, key.channel.value, key.org, key.user)
        if found is not None:  # its row lock serialises this conversation's turns
            return found
        return self._create(conn, key) or self._missing(conn, key)

    def _lock_recording(self, conn: Connection, key: ConversationKey, inbound_key: str,
                        now: datetime) -> tuple[ConversationRow, bool | None]:
        """`lock`, and on PostgreSQL the inbound's key recorded in the same statement (see bot/store/hotpath.py)."""
        if not self.postgres:
            return self.lock(conn, key), None
        args = (conn, key.channel.value, key.org, key.user, inbound_key, now)
        found = self.hot.lock_open_recording(*args)
        if found is not None:
            return found
        created = self._create(conn, key)
        if created is not None:
            return created, None
        again = self.hot.lock_open_recording(*args)  # created by a first message that held the advisory lock
        assert again is not None
        return again

    def _create(self, conn: Connection, key: ConversationKey) -> ConversationRow | None:
        """A new conversation at `key`; None when one appeared while this waited for the key's lock."""
        if self.postgres:
            # Two first messages of a new conversation must not create it twice: serialise on the key.
            digest = int.from_bytes(hashlib.blake2b(
                f"{key.channel}|{key.org}|{key.user}".encode(), digest_size=8).digest(), "big", signed=True)
            self.hot.advisory_lock(conn, digest)
            if self.hot.lock_open(conn, key.channel.value, key.org, key.user) is not None:
                return None
        return self.hot.create(conn, key.channel.value, key.org, key.user, self.runner.start_state, self.clock.now())

    def _missing(self, conn: Connection, key: ConversationKey) -> ConversationRow:
        found = self.hot.lock_open(conn, key.channel.value, key.org, key.user)
        assert found is not None
        return found

    def lock_by_id(self, conn: Connection, conversation_id: int) -> ConversationRow:
        found = self.hot.lock_by_id(conn, conversation_id)
        if found is None:
            raise BadInput(f"conversation c-{conversation_id} does not exist")
        return found


def _clean(text: str) -> str:
    """Control characters (but newlines and tabs) are dropped before anything is stored."""
    return "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())


def _public(data: dict[str, Any]) -> dict[str, Any]:
    """Inbound data as stored in the transcript: never a token, code or secret."""
    hidden = {"code_verifier", "access_token", "refresh_token", "client_secret", "spapi_oauth_code"}
    return {k: v for k, v in data.items() if k not in hidden}
