"""One call to an OpenAI-compatible chat-completions endpoint (vLLM, Ollama, a hosted one), with a hard time cap.

`ChatClient.complete` returns the text of the first choice or raises `ChatUnavailable` with a short
reason fit for a log line: a status code, "timed out", an exception's class name. Never the API key,
the URL's query, the customer's message or the server's body.

The cap is hard: the request runs on a small pool of threads and the caller waits for it at most
`timeout` seconds, whatever the server does (a server that trickles one byte a second never trips
httpx's read timeout, which counts from byte to byte). The abandoned request stops itself at the
same deadline while reading, so a stuck server cannot keep the pool's threads.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Final

import httpx
from pydantic import BaseModel, ValidationError

MAX_REPLY_BYTES: Final = 64 * 1024  # a classification is a few hundred bytes; more is not an answer
_THREADS: Final = 4  # calls in flight at once; a fifth waits its turn, within its own deadline


class ChatUnavailable(Exception):
    """No usable answer from the endpoint; the message says why without any secret or customer text."""


class _Message(BaseModel):
    content: str


class _Choice(BaseModel):
    message: _Message


class _Completion(BaseModel):
    """The part of a chat-completions response that is read; everything else is ignored."""

    choices: list[_Choice]


class ChatClient:
    """POST {base_url}/chat/completions with a system and a user message; temperature 0, JSON asked for."""

    def __init__(self, base_url: str, model: str, api_key: str | None, timeout: float,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout), transport=transport)
        self._pool = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="second-opinion")

    def complete(self, system: str, user: str) -> str:
        """The first choice's message content, within `timeout` seconds or `ChatUnavailable`."""
        deadline = time.monotonic() + self.timeout
        future = self._pool.submit(self._post, system, user, deadline)
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            future.cancel()  # still queued behind other calls: never sent
            raise ChatUnavailable(f"no answer within {self.timeout:g} s") from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def _post(self, system: str, user: str, deadline: float) -> str:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": 0,
            # Servers that do not know response_format ignore it; the reply is parsed either way.
            "response_format": {"type": "json_object"},
        }
        try:
            with self._http.stream("POST", self.url, json=body) as response:
                if response.status_code != 200:
                    raise ChatUnavailable(f"HTTP {response.status_code}")
                raw = bytearray()
                for chunk in response.iter_bytes():
                    raw.extend(chunk)
                    if len(raw) > MAX_REPLY_BYTES:
                        raise ChatUnavailable(f"a reply over {MAX_REPLY_BYTES // 1024} KB")
                    if time.monotonic() > deadline:
                        raise ChatUnavailable(f"no answer within {self.timeout:g} s")
        except httpx.TimeoutException:
            raise ChatUnavailable(f"no answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise ChatUnavailable(f"the request failed ({type(exc).__name__})") from None
        try:
            completion = _Completion.model_validate(json.loads(raw))
        except (ValueError, ValidationError):
            raise ChatUnavailable("the reply is not a chat completion") from None
        if not completion.choices:
            raise ChatUnavailable("the reply has no choices")
        return completion.choices[0].message.content
