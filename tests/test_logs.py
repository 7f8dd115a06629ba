"""Log lines: JSON objects naming their conversation, secrets redacted; the worker process writes them."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.logs import JsonFormatter, TextFormatter, conversation_context
from tests.conftest import ServicesFactory
from tests.fakes.talk import say

ROOT = Path(__file__).resolve().parent.parent


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("connectbot.test", logging.WARNING, __file__, 1, message, args, None)


def test_a_json_line_names_its_conversation_and_hides_tokens() -> None:
    with conversation_context("c-42"):
        line = json.loads(JsonFormatter().format(_record("opened %s", "/connect/SECRETTOKEN123")))
    assert line["conversation"] == "c-42" and line["level"] == "warning" and line["logger"] == "connectbot.test"
    assert "SECRETTOKEN123" not in line["message"] and line["message"] == "opened /connect/[redacted]"
    assert "conversation" not in json.loads(JsonFormatter().format(_record("outside a turn")))


def test_text_lines_for_people_keep_the_conversation_too() -> None:
    with conversation_context("c-7"):
        assert TextFormatter().format(_record("hello")).endswith("hello [c-7]")


@pytest.mark.slow
def test_the_worker_writes_one_json_object_per_line(make_services: ServicesFactory) -> None:
    services = make_services()
    say(services, "how long does the first sync take?")
    services.db.dispose()
    env = {**os.environ, "DATABASE_URL": make_services.url}
    result = subprocess.run([sys.executable, "-m", "bot", "worker", "--once"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    delivered = [line for line in lines if line["message"].startswith("delivered outbox")]
    assert delivered and all(line["conversation"] == "c-1" for line in delivered)
    assert any(line["message"].startswith("worker") and line["message"].endswith("stopped") for line in lines)
