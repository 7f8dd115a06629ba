"""The whole web app on a free local port for one test, its worker loop off (tests drive timers themselves)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.app import Services
from bot.loopback import LocalServer
from bot.web import create_app


@contextmanager
def serving(services: Services) -> Iterator[str]:
    """Yields the server's origin (http://127.0.0.1:PORT) and stops it afterwards."""
    server = LocalServer(create_app(services.settings, services=services, run_timers=False))
    origin = server.start()
    try:
        yield origin
    finally:
        server.stop()
