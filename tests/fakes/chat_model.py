"""A stand-in for an OpenAI-compatible chat-completions endpoint: a real HTTP server on port 0.

It answers `POST /chat/completions` the way vLLM, Ollama or a hosted service does: a JSON body with
`choices[0].message.content`. By default the content is `{"topics": ["clarify"]}`; a test scripts
the next answers (`answer`): other content (JSON or not), another status, a body that is not a
chat completion, an answer that hangs until the test ends, or one that trickles a byte at a time.
Every request is recorded with its headers and body, so a test asserts on what the model was sent,
and whether the answer was ever finished (`finished`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.local_http import serving_on_a_free_port


@dataclass(frozen=True)
class Reply:
    content: str = '{"topics": ["clarify"]}'  # the message content: the model's words
    status: int = 200
    body: bytes | None = None  # the whole response body instead of a chat completion around `content`
    hang: bool = False  # wait until the test is over before answering
    trickle: bool = False  # send the headers, then the body one byte every 0.2 s


def opinion(*topics: str, **slots: object) -> Reply:
    """An answer naming these topics and slots, as a model that follows the instructions writes it."""
    return Reply(json.dumps({"topics": list(topics), "slots": slots}))


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeChatModel:
    url: str = ""
    script: list[Reply] = field(default_factory=list)  # answers to give first, in order; then the default
    requests: list[Request] = field(default_factory=list)
    finished: int = 0  # answers written to the end
    received: threading.Event = field(default_factory=threading.Event)  # set by each request
    release: threading.Event = field(default_factory=threading.Event)  # ends hanging and trickling answers
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *replies: Reply) -> None:
        with self.lock:
            self.script.extend(replies)

    def _take(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            self.received.set()
            return self.script.pop(0) if self.script else Reply()

    def _done(self) -> None:
        with self.lock:
            self.finished += 1


def _completion(content: str) -> bytes:
    return json.dumps({
        "id": "chatcmpl-fake", "object": "chat.completion", "model": "fake",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
    }).encode()


@contextmanager
def running_chat_model() -> Iterator[FakeChatModel]:
    fake = FakeChatModel()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            reply = fake._take(Request(self.path, dict(self.headers.items()), body))
            if self.path != "/v1/chat/completions":
                reply = Reply(status=404, body=b'{"error": "not found"}')
            if reply.hang:
                fake.release.wait()
            payload = reply.body if reply.body is not None else _completion(reply.content)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if reply.trickle:
                    for i in range(len(payload)):
                        self.wfile.write(payload[i : i + 1])
                        self.wfile.flush()
                        if fake.release.wait(0.2):
                            return
                else:
                    self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up waiting
            fake._done()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return None

    with serving_on_a_free_port(Handler) as origin:
        fake.url = f"{origin}/v1"
        try:
            yield fake
        finally:
            fake.release.set()  # a slow answer still trickling out stops, so the server can shut down
