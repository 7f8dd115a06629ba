"""Log lines: one JSON object per line for machines, or plain text for people; secrets redacted in both.

Every line carries the conversation it is about when one is known: the engine sets it for a
turn and the worker for the row it delivers, through `conversation_context`.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from bot.logsafe import RedactSecrets, redact

current_conversation: ContextVar[str | None] = ContextVar("current_conversation", default=None)

FORMATS = ("json", "text")


class conversation_context:  # noqa: N801  used as `with conversation_context(...)`, like contextlib's
    """Names `conversation` on every log line written inside the block (a class, not a generator: it
    is entered on every turn, and a generator-based context manager costs several times as much)."""

    __slots__ = ("conversation", "token")

    def __init__(self, conversation: str | None) -> None:
        self.conversation = conversation

    def __enter__(self) -> None:
        self.token = current_conversation.set(self.conversation)

    def __exit__(self, *_: object) -> None:
        current_conversation.reset(self.token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        conversation = current_conversation.get()
        if conversation:
            line["conversation"] = conversation
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        conversation = current_conversation.get()
        text = super().format(record)
        return redact(f"{text} [{conversation}]" if conversation else text)


def setup(log_format: str = "json", level: int = logging.INFO) -> None:
    """Route every logger (uvicorn's too) to one stderr handler in the chosen format."""
    if log_format not in FORMATS:
        raise ValueError(f"unknown log format {log_format!r}: use one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
