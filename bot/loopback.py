"""Our web app on a free local port inside this process, reachable at its public address.

Scripted chats (`chat --jsonl`) and tests drive the real HTTP path: the customer's link, the
redirect to the stand-in, the callback, and the callback's own calls to the stand-in's token and
profile endpoints. Links keep showing the configured public address (so a script prints the
same links every run); `Rerouted` transports carry requests for that address to the port the
server really listens on.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time

import certifi
import httpx
import uvicorn
from starlette.types import ASGIApp


class LocalServer:
    """uvicorn serving an ASGI app on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(self, app: ASGIApp) -> None:
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                                    timeout_graceful_shutdown=2))
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def origin(self) -> str:
        host, port = self._socket.getsockname()
        return f"http://{host}:{port}"

    def start(self, timeout: float = 10.0) -> str:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the local web server did not start")
            time.sleep(0.01)
        return self.origin

    def stop(self) -> None:
        stop_servers(self)

    def _ask_to_stop(self) -> None:
        self._server.should_exit = True

    def _wait_stopped(self) -> None:
        self._thread.join(timeout=5)
        self._socket.close()


def stop_servers(*servers: LocalServer) -> None:
    """Stop several servers at once: uvicorn takes some 150 ms to notice and wind down, so ask them all first."""
    for server in servers:
        server._ask_to_stop()
    for server in servers:
        server._wait_stopped()


def _reroute(request: httpx.Request, routes: dict[str, str]) -> None:
    origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
    target = routes.get(origin)
    if target is not None:
        moved = httpx.URL(target)
        # The Host header keeps the public name, as it would behind a proxy.
        request.url = request.url.copy_with(scheme=moved.scheme, host=moved.host, port=moved.port)


class Rerouted(httpx.BaseTransport):
    """Sends requests for one origin (scheme://host:port) to another; the rest go out unchanged."""

    def __init__(self, routes: dict[str, str] | None = None) -> None:
        self.routes = dict(routes or {})
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _reroute(request, self.routes)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class AsyncRerouted(httpx.AsyncBaseTransport):
    """The async twin of `Rerouted`, for the callback's calls to Amazon."""

    def __init__(self, routes: dict[str, str] | None = None) -> None:
        self.routes = dict(routes or {})
        self._tls: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _reroute(request, self.routes)
        # A transport per request: the callback's clients live in other event loops than this object.
        # The TLS context is shared (a context per transport would load the CA bundle, ~40 ms, every call).
        if self._tls is None:
            self._tls = ssl.create_default_context(cafile=certifi.where())
        async with httpx.AsyncHTTPTransport(verify=self._tls) as inner:
            response = await inner.handle_async_request(request)
            body = await response.aread()  # decoded: the encoding headers no longer apply
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)
