"""Keeps secrets out of log lines: link tokens, OAuth state and codes, Amazon tokens, client secrets.

The filter belongs on handlers (a filter on a logger sees only that logger's own records, not
those of its children such as httpx or uvicorn), so `install` puts it on every handler of the
root logger and of the named loggers.
"""

from __future__ import annotations

import logging
import re

_PARAMS = r"state|code|spapi_oauth_code|code_verifier|code_challenge|refresh_token|access_token|client_secret"
_SECRETS = re.compile(rf"(/connect/|[?&\s](?:{_PARAMS})=)[^&\s\"']+")
_AMAZON_TOKENS = re.compile(r"Atz[ar]\|[^\s\"'&]+")  # Amazon access and refresh tokens start like this


def redact(text: str) -> str:
    return _AMAZON_TOKENS.sub("[redacted]", _SECRETS.sub(r"\1[redacted]", text))


class RedactSecrets(logging.Filter):
    """Rewrites the formatted message (arguments included, whatever their type) before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed call: logging reports it itself
        record.msg, record.args = redact(message), ()
        return True


def install(*logger_names: str) -> None:
    for name in ("", *logger_names):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
        for handler in logger.handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())
