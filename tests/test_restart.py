"""A conversation survives its process being killed mid-flow (a real process, SIGKILL, started again)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store.migrate import upgrade

pytestmark = pytest.mark.slow

USER = '{"user": {"id": "u7", "org": "acme", "channel": "webchat"}}'


def _start(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bot", "chat", "--jsonl", "--database-url", url],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)


def _until(process: subprocess.Popen[str], wanted: str) -> list[dict[str, object]]:
    assert process.stdout is not None
    seen: list[dict[str, object]] = []
    while True:
        line = process.stdout.readline()
        assert line, f"the process ended before printing {wanted!r}; got {seen}"
        seen.append(json.loads(line))
        if wanted in line:
            return seen


def _stop(process: subprocess.Popen[str]) -> None:
    process.kill()  # SIGKILL: no clean shutdown, nothing in memory is flushed
    process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def _send(process: subprocess.Popen[str], *lines: str) -> None:
    assert process.stdin is not None
    process.stdin.write("\n".join(lines) + "\n")
    process.stdin.flush()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_killed_mid_flow_the_conversation_continues(backend: str, tmp_path: Path,
                                                    request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'kept.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    if backend == "postgresql":
        upgrade(url)  # production databases are migrated by the release step, not by the chat
    first = _start(url)
    _send(first, USER, '{"say": "hi, we are a vendor and want to connect our account"}', '{"click": "Yes"}',
          '{"say": "we sell on amazon.de"}')
    _until(first, '"links"')
    _stop(first)

    second = _start(url)
    _send(second, USER, '{"amazon": {"outcome": "allow", "profiles": [{"country": "DE", "type": "vendor"}]}}')
    after = _until(second, "Connected")
    _stop(second)
    assert after[-1]["conversation"] == "c-1"
    assert "Germany" in str(after[-1]["text"])
