"""`GET /api/chat/stream`: the customer's conversation as Server-Sent Events, live.

EventSource cannot set headers, so the identity comes as `?token=`. Each event is
`id: <message id>`, `event: message`, `data: <Message JSON>`; a reconnect sends `Last-Event-ID`
(or `?after=`) and gets exactly what came after it. A comment every INAPP_KEEPALIVE_SECONDS keeps
proxies from closing an idle stream; the stream ends when its token expires (the widget asks its
host for a new one and reconnects).
"""

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from bot.channels.inapp.hub import StreamHub, Watcher
from bot.channels.inapp.identity import Identity, IdentityRefused, IdentityVerifier
from bot.clock import Clock
from bot.edge.errors import ApiError
from bot.types import Channel, ConversationKey

RETRY_MS = 2000  # how soon a browser reconnects a dropped stream
MAX_AFTER = 2**31 - 1
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering of live events


def _resume_from(after: int, last_event_id: str | None) -> int:
    if last_event_id is None or not last_event_id.strip():
        return after
    value = last_event_id.strip()
    if not value.isdigit() or int(value) > MAX_AFTER:
        raise ApiError(422, f"Last-Event-ID must be a message id from 0 to {MAX_AFTER}")
    return int(value)


def stream_router(verifier: IdentityVerifier, hub: StreamHub, clock: Clock, keepalive_seconds: float,
                  limit_identity: Callable[[Identity], None]) -> APIRouter:
    router = APIRouter()

    @router.get("/api/chat/stream", response_model=None)
    async def stream(token: Annotated[str | None, Query(max_length=4096)] = None,
                     after: Annotated[int, Query(ge=0, le=MAX_AFTER)] = 0,
                     last_event_id: Annotated[str | None, Header(max_length=20)] = None) -> StreamingResponse:
        try:
            who = verifier.verify(token)
        except IdentityRefused as exc:
            raise ApiError(401, exc.reason) from None
        await to_thread.run_sync(limit_identity, who)
        watcher = Watcher(ConversationKey(Channel.WEBCHAT, who.org, who.user), _resume_from(after, last_event_id))

        async def events() -> AsyncIterator[bytes]:
            yield f"retry: {RETRY_MS}\n\n".encode()
            await hub.watch(watcher)
            try:
                while True:
                    left = (who.expires_at - clock.now()).total_seconds()
                    if left <= 0:
                        return
                    frames = await watcher.take(min(keepalive_seconds, left))
                    yield b"".join(frames) if frames else b": keep-alive\n\n"
            finally:
                hub.forget(watcher)

        return StreamingResponse(events(), media_type="text/event-stream", headers=HEADERS)

    return router
