"""A Server-Sent Events reader for tests: what a browser's EventSource sees, one event at a time."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

import httpx


class EventStream:
    """Reads `GET url` as an event stream in a thread; `next()` returns each message event's JSON."""

    def __init__(self, url: str, params: dict[str, str], headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self.comments: list[str] = []
        self.retry: int | None = None
        self.status: int | None = None
        self.opened = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10.0, read=None))
        self._url, self._params, self._headers = url, params, headers or {}
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self.opened.wait(10):
            raise TimeoutError("the stream did not open")

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self._url, params=self._params, headers=self._headers) as response:
                self.status = response.status_code
                self.opened.set()
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.comments.append(line)
                    elif line == "":
                        if fields.get("event") == "message":
                            message = json.loads(fields["data"])
                            assert int(fields["id"]) == message["id"], "the event id is the message id"
                            self.events.put((time.monotonic(), message))
                        fields = {}
                    else:
                        name, _, value = line.partition(":")
                        fields[name] = value.removeprefix(" ")
                        if name == "retry":
                            self.retry = int(fields[name])
        except (httpx.HTTPError, RuntimeError):
            pass
        finally:
            self.opened.set()

    def next(self, timeout: float = 5.0) -> dict[str, Any]:
        return self.events.get(timeout=timeout)[1]

    def next_timed(self, timeout: float = 5.0) -> tuple[float, dict[str, Any]]:
        return self.events.get(timeout=timeout)

    def take(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        return [self.next(timeout) for _ in range(count)]

    def quiet(self, seconds: float) -> bool:
        """True when nothing arrives for `seconds`."""
        try:
            self.events.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def finished(self, timeout: float) -> None:
        """Waits for the server to end the stream."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the stream is still open")

    def close(self) -> None:
        self._client.close()
        self._thread.join(timeout=5)
