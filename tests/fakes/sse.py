"""A Server-Sent Events reader for tests: what a browser's EventSource sees, one event at a time."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import httpx


class Reader(Protocol):
    """What a stream reader keeps besides its events: the comments (keep-alives) and the retry it was told."""

    comments: list[str]
    retry: int | None


def events_of(lines: Iterable[str], reader: Reader) -> Iterator[dict[str, str]]:
    """Each event's fields as an EventSource parses them (blank line ends an event; ':' lines are comments)."""
    fields: dict[str, str] = {}
    for line in lines:
        if line.startswith(":"):
            reader.comments.append(line)
        elif line == "":
            if fields:
                yield fields
            fields = {}
        else:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
            if name == "retry":
                reader.retry = int(fields[name])


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
                for fields in events_of(response.iter_lines(), self):
                    if fields.get("event") == "message":
                        message = json.loads(fields["data"])
                        assert int(fields["id"]) == message["id"], "the event id is the message id"
                        self.events.put((time.monotonic(), message))
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
