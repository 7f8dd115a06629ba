"""The console's event stream as a browser's EventSource reads it, with a member of staff's cookies."""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

import httpx

from bot.loopback import Rerouted
from tests.fakes.sse import events_of
from tests.fakes.staff_browser import PUBLIC, StaffBrowser


class ConsoleEvents:
    """Reads GET /console/events in a thread; `next()` returns (event name, its JSON data)."""

    def __init__(self, staff: StaffBrowser, origin: str, params: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.comments: list[str] = []
        self.status: int | None = None
        self.location = ""
        self.retry: int | None = None
        self.opened = threading.Event()
        self.ended = threading.Event()
        # Its own client with a copy of the cookies: the stream's thread never shares the staff member's.
        self._client = httpx.Client(base_url=PUBLIC, transport=Rerouted({PUBLIC: origin}),
                                    cookies=staff.http.cookies, timeout=httpx.Timeout(10.0, read=None))
        self._params = params or {}
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self.opened.wait(10):
            raise TimeoutError("the stream did not open")

    def _read(self) -> None:
        try:
            with self._client.stream("GET", "/console/events", params=self._params) as response:
                self.status = response.status_code
                self.location = response.headers.get("location", "")
                self.opened.set()
                if response.status_code != 200:
                    return
                for fields in events_of(response.iter_lines(), self):
                    if "event" in fields:
                        self.events.put((fields["event"], json.loads(fields.get("data") or "{}")))
        except (httpx.HTTPError, RuntimeError):
            pass
        finally:
            self.opened.set()
            self.ended.set()

    def next(self, timeout: float = 5.0) -> tuple[str, dict[str, Any]]:
        return self.events.get(timeout=timeout)

    def changed(self, conversation: int, timeout: float = 5.0) -> None:
        """Waits for an event saying this conversation changed (a resync counts: it says everything may have)."""
        while True:
            name, data = self.next(timeout)
            if name == "resync" or conversation in data.get("conversations", []):
                return

    def quiet(self, seconds: float) -> bool:
        """True when no event arrives for `seconds`."""
        try:
            self.events.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self._client.close()
        self._thread.join(timeout=5)
