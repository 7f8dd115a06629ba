"""A stand-in for Slack's Web API: a real HTTP server on port 0 that answers the methods the bot calls.

It answers like Slack does: HTTP 200 with `{"ok": true, ...}` (a `ts` for every posted message),
`{"ok": false, "error": ...}` for refusals, and HTTP 429 with `Retry-After` when rate limited.
Tokens are judged by prefix (`xoxb-` is valid; `xoxb-revoked` answers `token_revoked`). Every call
is recorded with its method, token and body, so tests assert on what Slack would have received.
Posted messages are kept per channel with their metadata, so `conversations.history` and
`conversations.replies` can show them back, as the real API does.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.local_http import serving_on_a_free_port

BOT_USER = "UBOT00001"
BOT_ID = "BBOT00001"
TEAM = "THOME0001"
USERS = {
    "UCUST0001": {"name": "casey", "real_name": "Casey Customer", "display_name": "Casey", "team_id": "TCUST0001"},
    "UEXT00001": {"name": "erin", "real_name": "Erin External", "display_name": "Erin", "team_id": "TEXT00001"},
    "USTRAT001": {"name": "dana", "real_name": "Dana Strategist", "display_name": "Dana", "team_id": TEAM},
    "UAGENT001": {"name": "alex", "real_name": "Alex Agent", "display_name": "Alex", "team_id": TEAM},
}


@dataclass
class Call:
    method: str
    token: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Failure:
    error: str
    status: int = 200
    retry_after: int | None = None


@dataclass
class FakeSlack:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel -> posted messages
    delay_seconds: float = 0.0
    socket_url: str = ""  # what apps.connections.open hands out (tests/fakes/slack_socket.py)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: int = 0

    def fail(self, method: str, *failures: Failure) -> None:
        """The next calls of `method` answer these, in order; then it works again."""
        with self.lock:
            self.failures.setdefault(method, []).extend(failures)

    def called(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def posts(self) -> list[dict[str, Any]]:
        """Bodies of chat.postMessage calls that Slack accepted (what people see)."""
        with self.lock:
            return [m for msgs in self.messages.values() for m in msgs]

    def posted_outbox_ids(self) -> list[str]:
        """The outbox id in the marker of every chat.postMessage call (duplicates kept)."""
        return [str((c.body.get("metadata") or {}).get("event_payload", {}).get("outbox_id"))
                for c in self.called("chat.postMessage")]

    def wait_for(self, method: str, count: int, timeout: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.called(method)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(f"{method}: {len(self.called(method))} calls after {timeout} s, wanted {count}")

    # ---- answering ------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        self._ts += 1
        return f"1790000000.{self._ts:06d}"

    def answer(self, method: str, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self.lock:
            self.calls.append(Call(method, token, body))
            scripted = self.failures.get(method)
            if scripted:
                failure = scripted.pop(0)
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                return failure.status, {"ok": False, "error": failure.error}, headers
            if method.startswith("respond/"):
                return 200, {"ok": True}, {}
            if method == "apps.connections.open":  # Socket Mode: an app-level token gets the WebSocket's URL
                if not token.startswith("xapp-"):
                    return 200, {"ok": False, "error": "invalid_auth"}, {}
                return 200, {"ok": True, "url": self.socket_url}, {}
            if not token.startswith("xoxb-"):
                return 200, {"ok": False, "error": "not_authed" if not token else "invalid_auth"}, {}
            if token.startswith("xoxb-revoked"):
                return 200, {"ok": False, "error": "token_revoked"}, {}
            return 200, self._ok(method, body), {}

    def _ok(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://home.slack.com/", "team": "Home", "user": "connectbot",
                    "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID}
        if method == "users.info":
            user = USERS.get(str(body.get("user")))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": body["user"], "name": user["name"], "real_name": user["real_name"],
                                         "team_id": user["team_id"],
                                         "profile": {"display_name": user["display_name"],
                                                     "real_name": user["real_name"]}}}
        if method == "conversations.info":
            channel = str(body.get("channel"))
            return {"ok": True, "channel": {"id": channel, "is_im": channel.startswith("D"),
                                            "is_ext_shared": channel.startswith("CEXT"), "is_member": True}}
        if method == "chat.postMessage":
            channel = str(body.get("channel"))
            if channel.startswith("CGONE"):
                return {"ok": False, "error": "channel_not_found"}
            if channel.startswith("U"):  # posting to a user id lands in the app's DM with them
                channel = "D" + channel[1:]
            ts = self._next_ts()
            self.messages.setdefault(channel, []).append({**body, "channel": channel, "ts": ts})
            return {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text", ""), "ts": ts}}
        if method == "chat.update":
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
        if method == "chat.getPermalink":
            return {"ok": True, "channel": body.get("channel"),
                    "permalink": f"https://home.slack.com/archives/{body.get('channel')}/"
                                 f"p{str(body.get('message_ts')).replace('.', '')}"}
        if method in ("conversations.history", "conversations.replies"):
            found = self.messages.get(str(body.get("channel")), [])
            if method == "conversations.replies":
                found = [m for m in found if m.get("thread_ts") == body.get("ts") or m["ts"] == body.get("ts")]
            return {"ok": True, "messages": list(reversed(found)), "has_more": False}
        if method == "conversations.open":
            users = str(body.get("users") or "")
            return {"ok": True, "channel": {"id": "D" + users[1:] if users else str(body.get("channel"))}}
        if method == "views.open":
            return {"ok": True, "view": {"id": "VMODAL0001", **(body.get("view") or {})}}
        return {"ok": True}


def _parse(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
    body: dict[str, Any] = dict(parse_qsl(query))
    if not raw:
        return body
    if "json" in content_type:
        body.update(json.loads(raw))
    else:
        body.update(dict(parse_qsl(raw.decode())))
    for name in ("blocks", "view", "metadata", "attachments"):  # form posts carry these as JSON strings
        if isinstance(body.get(name), str):
            try:
                body[name] = json.loads(body[name])
            except ValueError:
                pass
    return body


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = _parse(raw, self.headers.get("Content-Type", ""), parts.query)
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ").strip() if auth else str(body.pop("token", ""))
            method = parts.path.removeprefix("/api/").strip("/")
            if method == "_posted":  # for a process that cannot see `fake`: each posted row's outbox id, once
                self._send(200, {"ok": True, "outbox_ids": fake.posted_outbox_ids()}, {})
                return
            if fake.delay_seconds:
                time.sleep(fake.delay_seconds)
            status, answer, headers = fake.answer(method, token, body)
            self._send(status, answer, headers)

        def _send(self, status: int, answer: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def fake_slack_server() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    with serving_on_a_free_port(_handler(fake)) as origin:
        fake.url = f"{origin}/api/"
        yield fake


def main() -> None:
    """`python -m tests.fakes.slack_api`: the fake on its own (benches, demos); prints its URL, runs until killed."""
    with fake_slack_server() as fake:
        sys.stdout.write(f"URL {fake.url}\n")
        sys.stdout.flush()
        threading.Event().wait()


if __name__ == "__main__":
    main()
