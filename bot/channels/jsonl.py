"""`python -m bot chat --jsonl`: whole conversations driven from a file, as shared/design/chat-jsonl.md specifies.

One JSON object per input line; one JSON object per bot message, flushed as written. A bad line
prints {"error": ..., "line": N} and the run goes on; the exit status is 2 if any line was refused.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TextIO

import httpx

from bot.amazon.client import AmazonApi
from bot.amazon.recheck import Rechecker
from bot.app import Services
from bot.channels.scripted_browser import BrowserError, ScriptedBrowser, decision_from_script
from bot.clock import ManualClock, parse_duration
from bot.engine import BadInput, TurnResult, outbound_from_json, outbound_json
from bot.loopback import AsyncRerouted, LocalServer, Rerouted
from bot.runner import UnknownChoice
from bot.sync.report import parse_report
from bot.types import Channel, ConversationKey, Inbound, InboundKind

log = logging.getLogger("connectbot.chat")

KEYS = ("user", "say", "click", "advance", "amazon", "sync", "strategist", "agent")
SYNC_STATUSES = ("in_progress", "completed", "failed")
SYNC_KEYS = ("status", "progress", "error")
AMAZON_KEYS = ("outcome", "profiles", "code")
PROFILE_KEYS = ("country", "type", "access")
STRATEGIST_ACTIONS = ("claim", "reply", "return", "resolve")
DEFAULT_USER = ConversationKey(Channel.TERMINAL, "default", "customer")


class LineError(ValueError):
    """This input line cannot be accepted; the message says why."""


@dataclass
class ScriptRun:
    services: Services
    out: TextIO
    key: ConversationKey = DEFAULT_USER

    def __post_init__(self) -> None:
        # Keys are unique per run, so replaying a script on a kept database is a new conversation turn.
        self.run_id = uuid.uuid4().hex[:12]
        self._server: LocalServer | None = None
        self._browser: ScriptedBrowser | None = None

    def feed(self, lines: Iterable[str]) -> int:
        refused = 0
        try:
            refused = self._feed(lines)
        finally:
            self.close()
        return 2 if refused else 0

    def _feed(self, lines: Iterable[str]) -> int:
        refused = 0
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                for result in self.line(number, raw):
                    self._print(number, result)
            except (LineError, BadInput, UnknownChoice) as exc:
                refused += 1
                self._write({"error": str(exc), "line": number})
            except Exception:  # a bug: logged with its traceback, the script goes on
                log.exception("line %d could not be handled", number)
                refused += 1
                self._write({"error": "internal error while handling this line (see the log)", "line": number})
        return refused

    def line(self, number: int, raw: str) -> list[TurnResult]:
        """What one input line makes the bot say, re-checks it led to included (a strategist's return)."""
        results = self._line(number, raw)
        return results + self._rechecks()

    def _line(self, number: int, raw: str) -> list[TurnResult]:
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise LineError(f"not JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(item, dict) or len(item) != 1:
            raise LineError(f"each line is one object with exactly one of the keys {', '.join(KEYS)}")
        (name, value), = item.items()
        if name not in KEYS:
            raise LineError(f"unknown key {name!r}; expected one of {', '.join(KEYS)}")
        engine = self.services.engine
        event_key = f"jsonl:{self.run_id}:{number}"
        if name == "user":
            self.key = _user(value)
            return []
        if name == "say":
            if not isinstance(value, str):
                raise LineError('"say" takes a string')
            return [engine.handle(self.key, Inbound(InboundKind.SAY, event_key, text=value))]
        if name == "click":
            if not isinstance(value, str) or not value.strip():
                raise LineError('"click" takes the label or value of a choice')
            return [engine.handle(self.key, Inbound(InboundKind.CLICK, event_key, text=value))]
        if name == "advance":
            return self._advance(value)
        if name == "amazon":
            return [self._amazon(value)]
        if name == "sync":
            return [self._sync(value, event_key)]
        if name == "strategist":
            data = _action(value, STRATEGIST_ACTIONS, "strategist")
            return [engine.handle(self.key, Inbound(InboundKind.STRATEGIST, event_key, data=data))]
        data = _action(value, ("handoff",), "agent")
        return [engine.handle(self.key, Inbound(InboundKind.AGENT, event_key, data=data))]

    def _advance(self, value: Any) -> list[TurnResult]:
        clock = self.services.clock
        if not isinstance(clock, ManualClock):
            raise LineError('"advance" needs the scripted clock; it is not available against the real one')
        try:
            target = clock.now() + parse_duration(str(value))
        except ValueError as exc:
            raise LineError(str(exc)) from None
        # The clock stops at each timer's due time, so what a timer says and arms is as of that moment
        # (a stall flagged at 12 h says 12 h; the case it opens reminds 30 business minutes later).
        engine, results, last = self.services.engine, [], None
        while (due := engine.next_timer_due()) is not None and due <= target and due != last:
            clock.advance(max(due - clock.now(), timedelta(0)))
            results += engine.fire_due_timers()
            last = due  # a timer that did not fire (it cannot happen) must not hold the run here
        clock.advance(target - clock.now())
        return results + engine.fire_due_timers()

    def _sync(self, value: Any, event_key: str) -> TurnResult:
        """The platform reports on the conversation's latest connection, through the path webhooks take."""
        data, engine = _sync(value), self.services.engine
        conversation = engine.conversation_id_for(self.key)
        connection = engine.latest_connection(conversation) if conversation else None
        if connection is None:  # a platform reports on connections; with none there is nothing to report on
            raise LineError("nothing is connected in this conversation yet, so there is no first sync to report on")
        # the stored connection's status decides: completed is final, a failure is not applied after it
        return engine.report_sync(connection, parse_report(data), event_key)

    def _amazon(self, value: Any) -> TurnResult:
        """The customer opens the pending link and Amazon (the stand-in) answers: all over real HTTP."""
        engine = self.services.engine
        conversation = engine.conversation_id_for(self.key)
        attempt = engine.pending_link(conversation) if conversation else None
        if conversation is None or attempt is None:
            raise LineError("no Amazon link is pending in this conversation")
        if self.services.settings.amazon_live:
            raise LineError("Amazon credentials are configured: only the local stand-in can be scripted")
        _amazon_keys(value)
        try:
            decision = decision_from_script(value, spapi=attempt.kind == "spapi")
            before = engine.last_outbox_id(conversation)
            self._site().play(engine.links.short_url(attempt.state_token), decision)
        except BrowserError as exc:
            raise LineError(str(exc)) from None
        sent = [outbound_from_json(payload) for _, payload in engine.outbox_after(conversation, before)]
        return TurnResult(conversation, sent)

    def _rechecks(self) -> list[TurnResult]:
        """Due re-checks, run against the stand-in like the worker runs them against Amazon."""
        engine = self.services.engine
        if self.services.settings.amazon_live or not engine.recheck_waiting():
            return []
        self._site()
        api = AmazonApi(self.services.settings, self.services.amazon_transport)
        return Rechecker(engine, self.services.vault, api).run_due()

    def _site(self) -> ScriptedBrowser:
        """The web app on a local port (started on first use) and a browser that reaches it."""
        if self._browser is None:
            from bot.web import create_app  # only scripts with Amazon lines pay for the web app

            outgoing = AsyncRerouted()
            self.services.amazon_transport = outgoing
            self._server = LocalServer(create_app(self.services.settings, self.services, run_timers=False))
            routes = {self.services.settings.public_url: self._server.start()}
            outgoing.routes = routes
            self._browser = ScriptedBrowser(httpx.Client(transport=Rerouted(routes), timeout=30))
        return self._browser

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._browser is not None:
            self._browser.client.close()
            self._browser = None

    def _print(self, number: int, result: TurnResult) -> None:
        for message in result.messages:
            # The protocol's output fields are fixed (design/chat-jsonl.md): no "author" field there.
            shown = {k: v for k, v in outbound_json(message).items() if k != "author"}
            self._write({"line": number, "conversation": result.conversation, **shown})

    def _write(self, obj: dict[str, Any]) -> None:
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.out.flush()


def _user(value: Any) -> ConversationKey:
    if not isinstance(value, dict) or not value.get("id"):
        raise LineError('"user" takes {"id": ..., "org": ..., "channel": "webchat" | "slack" | "terminal"}')
    try:
        channel = Channel(str(value.get("channel", "terminal")))
    except ValueError:
        raise LineError(f"unknown channel {value.get('channel')!r}; use webchat, slack or terminal") from None
    return ConversationKey(channel, str(value.get("org", "default"))[:200], str(value["id"])[:200])


def _unknown_keys(value: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = [k for k in value if k not in allowed]
    if unknown:
        raise LineError(f"unknown key {unknown[0]!r} in {where}; expected {', '.join(allowed)}")


def _amazon_keys(value: Any) -> None:
    """The README's promise: unknown keys are refused, inside the `amazon` object too."""
    if not isinstance(value, dict):
        return  # decision_from_script says what the object should look like
    if "access" in value:
        raise LineError('"access" belongs to each profile, e.g. {"country": "DE", "type": "vendor", "access": "view"}')
    _unknown_keys(value, AMAZON_KEYS, '"amazon"')
    profiles = value.get("profiles")
    for profile in profiles if isinstance(profiles, list) else ():
        if isinstance(profile, dict):
            _unknown_keys(profile, PROFILE_KEYS, "a profile")


def _sync(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or value.get("status") not in SYNC_STATUSES:
        raise LineError(f'"sync" takes {{"status": one of {", ".join(SYNC_STATUSES)}}}')
    _unknown_keys(value, SYNC_KEYS, '"sync"')
    progress = value.get("progress", 0)
    if not isinstance(progress, int) or not 0 <= progress <= 100:
        raise LineError('"progress" is a whole number from 0 to 100')
    return {"status": value["status"], "progress": progress, "error": str(value.get("error", ""))}


def _action(value: Any, allowed: tuple[str, ...], who: str) -> dict[str, Any]:
    if not isinstance(value, dict) or value.get("action") not in allowed:
        raise LineError(f'"{who}" takes {{"action": one of {", ".join(allowed)}}}')
    if value["action"] == "reply" and not str(value.get("text", "")).strip():
        raise LineError('a strategist "reply" needs a "text"')
    return {k: v for k, v in value.items() if isinstance(v, str | int | float | bool)}
