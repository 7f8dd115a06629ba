"""The thin handler: what runs after Slack has its ack. Converts, calls the engine in a thread, and for a
pressed button replaces the buttons by the answer. Replies themselves go out through the outbox.

Turns run off the event loop (the engine is synchronous), at most `TURNS_AT_ONCE` at a time, in
tasks this object keeps referenced until they finish (asyncio drops unreferenced tasks).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import Services
from bot.channels.slack.blocks import answered
from bot.channels.slack.cards import CLAIM, RESOLVE, RETURN
from bot.channels.slack.convert import CustomerMessage, Press, StrategistReply, click_key
from bot.channels.slack.store import SlackStore
from bot.engine import BadInput, TurnResult
from bot.runner import UnknownChoice
from bot.types import ConversationKey, Inbound, InboundKind

log = logging.getLogger("connectbot.slack")

TURNS_AT_ONCE = 2
T = TypeVar("T")


class Seen:
    """Recently seen event ids: a retry or a second event type of one message is not scheduled twice.
    The engine's idempotency key stays the real guard (across processes and restarts)."""

    def __init__(self, size: int = 20_000) -> None:
        self.size, self._keys = size, OrderedDict[str, None]()

    def first(self, *keys: str) -> bool:
        if any(k in self._keys for k in keys if k):
            return False
        for key in keys:
            if key:
                self._keys[key] = None
        while len(self._keys) > self.size:
            self._keys.popitem(last=False)
        return True


class Names:
    """Slack display names by user id (users.info), cached; a user we cannot look up is shown by id."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client, self._names = client, dict[str, str]()

    async def name(self, user: str, fallback: str = "") -> str:
        if user in self._names:
            return self._names[user]
        try:
            answer = await self.client.users_info(user=user)
        except (SlackApiError, SlackClientError, OSError, TimeoutError) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
            log.warning("could not look up Slack user %s (%s); showing %s", user, error, fallback or "the id")
            return fallback or user
        info: dict[str, Any] = answer.get("user") or {}
        profile = info.get("profile") or {}
        found = str(profile.get("display_name") or profile.get("real_name") or info.get("real_name")
                    or info.get("name") or fallback or user)
        self._names[user] = found
        return found


@dataclass
class Handler:
    services: Services
    client: AsyncWebClient
    store: SlackStore
    seen: Seen
    names: Names
    on_messages: Callable[[], None] = lambda: None  # a turn wrote messages: wake whoever delivers

    def __post_init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        self._turns: asyncio.Semaphore | None = None

    # ---- running work after the ack -----------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Slack work failed after the ack: %s: %s", type(task.exception()).__name__, task.exception())

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def in_thread(self, work: Callable[..., T], *args: Any) -> T:
        if self._turns is None:
            self._turns = asyncio.Semaphore(TURNS_AT_ONCE)
        async with self._turns:
            return await asyncio.to_thread(work, *args)

    async def turn(self, key: ConversationKey, inbound: Inbound) -> TurnResult | None:
        try:
            result = await self.in_thread(self.services.engine.handle, key, inbound)
        except (BadInput, UnknownChoice) as exc:
            log.info("Slack %s %s not taken: %s", inbound.kind.value, inbound.key, exc)
            return None
        if result.duplicate:
            log.debug("Slack %s %s was handled before; nothing new to say", inbound.kind.value, inbound.key)
        elif result.messages:
            self.on_messages()
        return result

    # ---- customers ----------------------------------------------------------------------------

    async def customer(self, message: CustomerMessage) -> None:
        key = message.key
        if message.place.thread_ts:  # a thread already in conversation keeps its conversation, whoever writes
            found = await self.in_thread(self.store.open_conversation, key.user)
            if found is not None:
                key = found[1]
            elif not message.starts:
                log.debug("Slack message %s is in a thread the bot is not part of; dropped", message.inbound.key)
                return
        await self.turn(key, message.inbound)

    async def press(self, press: Press) -> None:
        posted = await self.in_thread(self.store.post_at, press.channel, press.message_ts)
        key = await self.in_thread(self.store.key_of, posted.conversation_id) if posted else None
        if key is None:
            log.info("a press on Slack message %s/%s that the bot has no record of; dropped", press.channel,
                     press.message_ts)
            return
        result = await self.turn(key, Inbound(InboundKind.CLICK, click_key(press), text=press.value))
        if result is None or result.duplicate:
            return
        try:  # the old buttons go, so the same question cannot be answered twice
            await self.client.chat_update(channel=press.channel, ts=press.message_ts, text=press.label,
                                          blocks=answered(press.blocks, press.label,
                                                          self.services.engine.runner.templates))
        except (SlackApiError, SlackClientError, OSError, TimeoutError) as exc:
            log.warning("could not replace the buttons of %s/%s: %s", press.channel, press.message_ts,
                        type(exc).__name__)

    # ---- strategists --------------------------------------------------------------------------

    async def case_action(self, press: Press, action_ts: str) -> None:
        case_id, _, step = press.value.partition(":")
        case = await self.in_thread(self.store.case, int(case_id)) if case_id.isdigit() else None
        key = await self.in_thread(self.store.key_of, case.conversation_id) if case else None
        if case is None or key is None:
            log.info("a case button for unknown case %r; dropped", press.value)
            return
        by = await self.names.name(press.slack_user, press.user_name)
        action = {CLAIM: "claim", RETURN: "return", RESOLVE: "resolve"}.get(press.action_id)
        if action is None:
            return
        data: dict[str, Any] = {"action": action, "by": by}
        if step:
            data["to_step"] = step
        await self.turn(key, Inbound(InboundKind.STRATEGIST, f"slack:case:{case.id}:{action}:{action_ts}", data=data))

    async def strategist_reply(self, reply: StrategistReply) -> None:
        card = await self.in_thread(self.store.card_at, reply.channel, reply.thread_ts)
        key = await self.in_thread(self.store.key_of, card.conversation_id) if card else None
        if card is None or key is None:
            log.debug("a triage thread reply outside a case card's thread; dropped")
            return
        by = await self.names.name(reply.slack_user)
        await self.turn(key, Inbound(InboundKind.STRATEGIST, reply.key,
                                     data={"action": "reply", "by": by, "text": reply.text}))
