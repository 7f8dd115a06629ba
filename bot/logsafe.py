"""Keeps secrets out of log lines: sign-in link tokens, OAuth state and codes in request paths."""

from __future__ import annotations

import logging
import re

_SECRETS = re.compile(r"(/connect/|[?&](?:state|code|spapi_oauth_code|code_verifier)=)[^&\s\"']+")


def redact(text: str) -> str:
    return _SECRETS.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """A filter for any handler or logger: rewrites the message and its arguments before they are written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install(*logger_names: str) -> None:
    for name in logger_names or ("", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(RedactSecrets())
