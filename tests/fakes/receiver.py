"""A real HTTP server standing in for a delivery target (the platform's push endpoint, a channel webhook).

It honours Idempotency-Key the way a receiver must: the first POST with a key is accepted and
shown, a repeated key is acknowledged and not shown again. It records every POST, so tests can
count both what people saw (`accepted`) and what travelled (`posts`, raw duplicates included).
Scripted answers let a test make it fail: 500, 429 with Retry-After, 400, or hang past the timeout.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.local_http import serving_on_a_free_port


@dataclass(frozen=True)
class Answer:
    status: int = 200
    retry_after: str | None = None
    hang_seconds: float = 0.0


@dataclass
class Post:
    path: str
    key: str
    body: dict[str, Any]


@dataclass
class Receiver:
    url: str = ""
    delay_seconds: float = 0.0  # every answer waits this long: keeps deliveries in flight for kill tests
    script: list[Answer] = field(default_factory=list)  # answers to give first, in order; then 200
    posts: list[Post] = field(default_factory=list)
    accepted: dict[str, Post] = field(default_factory=dict)
    repeats: int = 0  # POSTs of a key already accepted: what a receiver without idempotency would show twice
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer_next(self, *answers: Answer) -> None:
        with self.lock:
            self.script.extend(answers)

    def _take(self, post: Post) -> Answer:
        with self.lock:
            self.posts.append(post)
            answer = self.script.pop(0) if self.script else Answer()
            if post.key in self.accepted:
                self.repeats += 1
            elif 200 <= answer.status < 300:
                self.accepted[post.key] = post
            return answer

    @property
    def raw_duplicates(self) -> int:
        with self.lock:
            return self.repeats

    def accepted_texts(self, path: str | None = None) -> list[str]:
        with self.lock:
            return [str(p.body.get("text", "")) for p in self.accepted.values() if path in (None, p.path)]


@contextmanager
def running_receiver(delay_seconds: float = 0.0) -> Iterator[Receiver]:
    receiver = Receiver(delay_seconds=delay_seconds)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            answer = receiver._take(Post(self.path, self.headers.get("Idempotency-Key", ""), body))
            if receiver.delay_seconds or answer.hang_seconds:
                time.sleep(receiver.delay_seconds + answer.hang_seconds)
            self.send_response(answer.status)
            if answer.retry_after is not None:
                self.send_header("Retry-After", answer.retry_after)
            payload = b'{"ok": true}' if answer.status < 300 else b'{"error": "scripted failure"}'
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            try:
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout, or a killed worker)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return None

    with serving_on_a_free_port(Handler) as origin:
        receiver.url = origin
        yield receiver
