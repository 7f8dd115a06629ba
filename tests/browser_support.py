"""For the widget's browser tests: `python -m bot serve` as a real process on a free port with its own SQLite
file, and Debian's Chromium driven by Playwright (never a browser download).

CONNECTBOT_SHOTS=/some/dir makes the tests save a screenshot of each step there.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def browser_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium; .ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    base: str
    database_url: str
    env: dict[str, str]
    log: Path

    def strategist(self, user: str, org: str, *lines: dict[str, object]) -> list[dict[str, object]]:
        """A Data Strategist acts on the customer's case from another process, through `chat --jsonl`."""
        script = [{"user": {"id": user, "org": org, "channel": "webchat"}}, *lines]
        done = subprocess.run([sys.executable, "-m", "bot", "chat", "--jsonl", "--database-url", self.database_url],
                              input="".join(json.dumps(line) + "\n" for line in script), capture_output=True,
                              text=True, cwd=ROOT, env=self.env, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def run_server(directory: Path, port: int = 0, **settings: str) -> Iterator[Server]:
    """The web process of the embedded default (the worker loop in it), up once /healthz answers.

    A directory used before keeps its database (a restart); port 0 picks a free one; `settings` are more
    environment variables (CONSOLE_POLL_SECONDS="1")."""
    port = port or free_port()
    database_url = f"sqlite:///{directory / 'bot.db'}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AMAZON_", "SPAPI_", "INAPP_", "OUTBOX_", "BASE_URL", "DATABASE_URL"))}
    env.update(DATABASE_URL=database_url, TOKEN_KEY_FILE=str(directory / "token.key"), LOG_FORMAT="text",
               TIMER_POLL_SECONDS="0.2", INAPP_STREAM_POLL_SECONDS="0.5", **settings)
    log = directory / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Server(base, database_url, env, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Shots:
    """Screenshots of each step, when CONNECTBOT_SHOTS names a directory."""

    def __init__(self) -> None:
        where = os.environ.get("CONNECTBOT_SHOTS", "")
        self.directory = Path(where) if where else None
        if self.directory:
            self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> str | None:
        return str(self.directory / f"{name}.png") if self.directory else None


def launched_chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright, for a module's fixture (`yield from launched_chromium()`)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
