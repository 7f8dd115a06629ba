"""`GET /console/events`: tells the console's open pages, as Server-Sent Events, which conversations changed.

Whatever process commits a turn (a reply from another web process, a worker's timer, a Slack thread), the
in-app stream hub of this process hears it: PostgreSQL's LISTEN, or in-process after the commit on SQLite
(bot/channels/inapp/hub.py). The feed passes each woken conversation id to the open console streams; the
page then reads itself again and swaps in what changed (live.js). Events carry ids only, never content, so
the stream needs no reads of its own and tells nothing a page of the console would not.

- `event: changed`, `data: {"conversations": [ids]}`: these conversations have new rows (a burst is one event)
- `event: resync`, `data: {}`: the hub reconnected its LISTEN and may have missed some; read everything again

`?c=N` keeps only conversation N's events (the conversation page). A comment every INAPP_KEEPALIVE_SECONDS
keeps proxies from closing an idle stream; the stream ends when the staff session does, and reconnecting
then meets the pages' own refusal (to sign-in), which is how the page learns the session is over.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from bot.channels.console.staff import Staff
from bot.channels.inapp.hub import StreamHub
from bot.clock import Clock, as_utc

SCRIPT = Path(__file__).with_name("live.js")
RETRY_MS = 3000  # how soon a browser reconnects a dropped stream
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering of live events


class Listener:
    """One open console stream: the conversations changed since it last wrote, or 'everything'."""

    __slots__ = ("only", "changed", "everything", "ready")

    def __init__(self, only: int | None) -> None:
        self.only = only
        self.changed: set[int] = set()
        self.everything = False
        self.ready = asyncio.Event()

    def offer(self, conversation: int | None) -> None:
        if conversation is None:
            self.everything = True
        elif self.only is None or conversation == self.only:
            self.changed.add(conversation)
        else:
            return
        self.ready.set()

    async def take(self, timeout: float) -> tuple[list[int], bool]:
        """(changed conversations, everything?) once there is news, or ([], False) after `timeout` seconds."""
        if not (self.changed or self.everything):
            try:
                await asyncio.wait_for(self.ready.wait(), timeout)
            except TimeoutError:
                return [], False
        changed, everything = sorted(self.changed), self.everything
        self.changed, self.everything = set(), False
        self.ready.clear()
        return changed, everything


class ConsoleFeed:
    """One per web process: every conversation the hub wakes, fanned out to the console's open streams."""

    def __init__(self, hub: StreamHub) -> None:
        self.listeners: set[Listener] = set()
        hub.observe(self._heard)  # for as long as the process: the hub and the console live and end together

    def _heard(self, conversation: int | None) -> None:  # on the hub's loop, as every stream is
        for listener in self.listeners:
            listener.offer(conversation)

    def listen(self, only: int | None) -> Listener:
        listener = Listener(only)
        self.listeners.add(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        self.listeners.discard(listener)


def _event(name: str, data: object) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def add_live_routes(app: FastAPI, feed: ConsoleFeed, clock: Clock, keepalive_seconds: float, lifetime: timedelta,
                    who: Callable[[Request], Staff | None], refuse: Callable[[], Response]) -> None:
    """The event stream (behind the same sign-in as every page) and the script that listens to it."""

    @app.get("/live.js", include_in_schema=False)
    def script() -> FileResponse:
        return FileResponse(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    @app.get("/events", response_model=None)
    async def events(request: Request, c: int | None = Query(None, ge=1, le=2**63 - 1)) -> Response:
        if who(request) is None:
            return refuse()
        ends = as_utc(datetime.fromisoformat(str(request.session["at"]))) + lifetime

        async def stream() -> AsyncIterator[bytes]:
            listener = feed.listen(c)  # here, so that a stream never started is never listed
            try:
                yield f"retry: {RETRY_MS}\n\n".encode()
                while True:
                    left = (ends - as_utc(clock.now())).total_seconds()
                    if left <= 0:
                        return
                    changed, everything = await listener.take(min(keepalive_seconds, left))
                    if everything:
                        yield _event("resync", {})
                    elif changed:
                        yield _event("changed", {"conversations": changed})
                    else:
                        yield b": keep-alive\n\n"
            finally:
                feed.forget(listener)

        return StreamingResponse(stream(), media_type="text/event-stream", headers=HEADERS)
