"""A stand-in for the platform's sync-status endpoint: a real HTTP server on a free port, in a thread."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.local_http import serving_on_a_free_port

_PATH = re.compile(r"^/api/connections/(\d+)/sync$")


@dataclass
class SyncPlatform:
    """What the server answers per connection id: a JSON object, or an int for an HTTP error status."""

    answers: dict[int, dict[str, Any] | int] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""

    @property
    def status_url(self) -> str:
        return self.url + "/api/connections/{connection_id}/sync"


@contextmanager
def sync_platform() -> Iterator[SyncPlatform]:
    platform = SyncPlatform()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (http.server's name)
            platform.requests.append(self.path)
            match = _PATH.match(self.path)
            answer = platform.answers.get(int(match.group(1))) if match else 404
            if answer is None or isinstance(answer, int):
                self.send_response(answer or 404)
                self.end_headers()
                return
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  quiet test output
            return

    with serving_on_a_free_port(Handler) as origin:
        platform.url = origin
        yield platform
