"""One server of `python -m bot bench slack`, in a process of its own: ours (the whole app) or bare bolt.

`python -m bot.bench.slack_server ours|bare FAKE_SLACK_URL DATABASE_URL` starts uvicorn on port 0 with
the same settings for both and prints `PORT <n>` once it listens; SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"


def bare_app(fake_url: str) -> FastAPI:
    """A bolt AsyncApp whose only listener acks, behind the same FastAPI/Starlette adapter."""
    bolt = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=fake_url), signing_secret=SECRET)

    async def only_ack(body: dict[str, Any]) -> None:
        return None

    bolt.event("message")(only_ack)
    handler = AsyncSlackRequestHandler(bolt)
    app = FastAPI()

    @app.post("/slack/events")
    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return app


def our_app(fake_url: str, database_url: str) -> FastAPI:
    from bot.app import build_services
    from bot.config import load_settings
    from bot.web import create_app

    settings = load_settings(database_url=database_url, slack_bot_token=TOKEN, slack_signing_secret=SECRET,
                             slack_api_url=fake_url, timer_poll_seconds=0.05, log_format="text")
    return create_app(settings, services=build_services(settings, auto_migrate=True), run_timers=True)


async def serve(app: FastAPI) -> None:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False,
                                           log_config=None))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    await task


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    kind, fake_url = sys.argv[1], sys.argv[2]
    app = bare_app(fake_url) if kind == "bare" else our_app(fake_url, sys.argv[3])
    asyncio.run(serve(app))


if __name__ == "__main__":
    main()
