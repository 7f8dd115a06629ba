"""Slack's Socket Mode end, as a real WebSocket server on port 0 (aiohttp): it says hello, sends each
queued envelope, and records the acks (`{"envelope_id": ...}`) the app sends back."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web


@dataclass
class FakeSocket:
    url: str = ""
    to_send: list[dict[str, Any]] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"ws://127.0.0.1:{port}/link"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"},
                            "connection_info": {"app_id": "A0APP0001"}})
        for envelope in self.to_send:
            await ws.send_json(envelope)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        return ws

    async def wait_for_acks(self, count: int, timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.acks) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(self.acks)} acks, wanted {count}")
            await asyncio.sleep(0.01)


def events_api(payload: dict[str, Any], envelope_id: str, retry: int = 0) -> dict[str, Any]:
    return {"envelope_id": envelope_id, "type": "events_api", "payload": payload,
            "accepts_response_payload": False, "retry_attempt": retry, "retry_reason": "timeout" if retry else ""}
