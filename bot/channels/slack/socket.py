"""Socket Mode for local development: the same listeners over a WebSocket Slack opens to us, so no public
URL is needed. Slack signs nothing here (the app-level token authenticates the socket); the worker
loop runs in a thread beside it, as in the embedded default, to deliver the replies."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.app import Services
from bot.channels.slack.bolt import SlackApp, build_slack
from bot.worker import run_worker

log = logging.getLogger("connectbot.slack")


class SocketModeUnavailable(RuntimeError):
    """Socket Mode cannot start as configured; the message says what to set."""


def check(services: Services) -> str:
    settings = services.settings
    token = settings.slack_app_token or ""
    if not token.startswith("xapp-"):
        raise SocketModeUnavailable("SLACK_APP_TOKEN must be an app-level token (xapp-...) with connections:write")
    if not settings.slack_bot_token:
        raise SocketModeUnavailable("SLACK_BOT_TOKEN (xoxb-...) is needed to answer")
    return token


@dataclass
class SocketMode:
    socket: AsyncSocketModeHandler
    slack: SlackApp
    stop: threading.Event
    worker: threading.Thread | None

    async def close(self) -> None:
        await self.socket.close_async()  # type: ignore[no-untyped-call]
        await self.slack.handler.drain()  # acked work finishes
        self.stop.set()
        if self.worker is not None:
            await asyncio.to_thread(self.worker.join, 5)


async def open_socket_mode(services: Services, with_worker: bool = True) -> SocketMode:
    token = check(services)
    if not services.settings.slack_signing_secret:  # bolt wants one; Socket Mode requests are never signed
        services.settings = services.settings.model_copy(update={"slack_signing_secret": "socket-mode"})
    slack = build_slack(services)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(services,), kwargs={"stop": stop}, daemon=True) \
        if with_worker else None
    if worker is not None:
        worker.start()
    socket = AsyncSocketModeHandler(slack.bolt, token)
    await socket.connect_async()  # type: ignore[no-untyped-call]
    log.info("Slack Socket Mode: connected")
    return SocketMode(socket, slack, stop, worker)


async def run_socket_mode(services: Services) -> None:
    mode = await open_socket_mode(services)
    try:
        await asyncio.Event().wait()  # until interrupted
    finally:
        await mode.close()
