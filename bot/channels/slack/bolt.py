"""The slack-bolt AsyncApp: every listener acks at once and leaves the work to a task (bot/channels/slack/handler.py).

Events are acknowledged by bolt before the listener runs (process_before_response=False); actions,
shortcuts, views and commands call `ack()` first thing. Every subscribed event and payload type has
a listener, so Slack never gets bolt's 404 for an unhandled request (which it would retry).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import Services
from bot.channels.slack.agents import MODAL, SHORTCUT, Agents
from bot.channels.slack.blocks import CHOICE_ACTION
from bot.channels.slack.cards import CASE_ACTIONS
from bot.channels.slack.convert import CustomerMessage, Dropped, StrategistReply, press_of, to_inbound
from bot.channels.slack.handler import Handler, Names, Seen
from bot.channels.slack.store import SlackStore

log = logging.getLogger("connectbot.slack")
Ack = Callable[..., Awaitable[Any]]


@dataclass
class SlackApp:
    bolt: AsyncApp
    handler: Handler


def slack_client(token: str, api_url: str) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=api_url, timeout=10)


def build_slack(services: Services, on_messages: Callable[[], None] = lambda: None) -> SlackApp:
    settings = services.settings
    assert settings.slack_bot_token and settings.slack_signing_secret, "Slack is not configured"
    client = slack_client(settings.slack_bot_token, settings.slack_api_url)
    bolt = AsyncApp(client=client, signing_secret=settings.slack_signing_secret,
                    process_before_response=False, logger=logging.getLogger("connectbot.slack.bolt"))
    handler = Handler(services, client, SlackStore(services.db), Seen(), Names(client), on_messages)
    agents = Agents(handler)
    triage = settings.slack_triage_channel or ""

    async def on_message(body: dict[str, Any], context: AsyncBoltContext) -> None:
        auth = context.authorize_result
        message = to_inbound(body, bot_user=str(context.bot_user_id or ""),
                             own_team=str(auth.team_id if auth else "") or "", triage_channel=triage,
                             team_orgs=settings.slack_team_orgs)
        if isinstance(message, Dropped):
            log.debug("Slack event %s dropped: %s", body.get("event_id"), message.reason)
            return
        if not handler.seen.first(str(body.get("event_id") or ""), *_keys_of(message)):
            log.debug("Slack event %s seen before (a retry or the same message twice); dropped", body.get("event_id"))
            return
        if isinstance(message, StrategistReply):
            handler.spawn(handler.strategist_reply(message))
        else:
            handler.spawn(handler.customer(message))

    bolt.event("message")(on_message)
    bolt.event("app_mention")(on_message)

    async def on_home(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home" and event.get("user"):
            handler.spawn(agents.home(str(event["user"])))

    bolt.event("app_home_opened")(on_home)

    async def on_other_event(body: dict[str, Any]) -> None:
        log.debug("Slack event of type %s is not one the bot answers; dropped",
                  (body.get("event") or {}).get("type"))

    bolt.event(re.compile(".*"))(on_other_event)

    async def on_choice(ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        press = press_of(body)
        if press is not None:
            handler.spawn(handler.press(press))

    async def on_case(ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        press = press_of(body)
        if press is not None:
            handler.spawn(handler.case_action(press, str((body.get("actions") or [{}])[0].get("action_ts") or "")))

    async def on_other_action(ack: Ack, body: dict[str, Any]) -> None:
        await ack()  # link buttons send an action too; the browser does the work
        log.debug("Slack action %s needs nothing from the bot", ((body.get("actions") or [{}])[0]).get("action_id"))

    bolt.action(re.compile(rf"^{CHOICE_ACTION}:"))(on_choice)
    bolt.action(re.compile("^(" + "|".join(CASE_ACTIONS) + ")$"))(on_case)
    bolt.action(re.compile(".*"))(on_other_action)

    async def on_shortcut(ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        handler.spawn(agents.open_modal(body))

    async def on_submit(ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        handler.spawn(agents.submitted(body))

    async def on_command(ack: Ack, body: dict[str, Any], respond: Ack) -> None:
        await ack()
        handler.spawn(agents.command(body, respond))

    bolt.shortcut(SHORTCUT)(on_shortcut)
    bolt.view(MODAL)(on_submit)
    bolt.command("/connectbot")(on_command)
    return SlackApp(bolt, handler)


def _keys_of(message: CustomerMessage | StrategistReply) -> tuple[str, ...]:
    """The message's own key, besides the event id: the same message as `message` and `app_mention` is one.
    A thread reply that may not be the bot's business is not remembered by it, so its mention still counts."""
    if isinstance(message, StrategistReply):
        return (message.key,)
    return (message.inbound.key,) if message.starts else ()
