"""Keeps secrets out of log lines: link tokens, OAuth state and codes, Amazon and Slack tokens, client secrets,
bearer tokens.

The filter belongs on handlers (a filter on a logger sees only that logger's own records, not
those of its children such as httpx or uvicorn), so `install` puts it on every handler of the
root logger and of the named loggers.
"""

from __future__ import annotations

import logging
import re

_PARAMS = (r"state|code|spapi_oauth_code|code_verifier|code_challenge|refresh_token|access_token|client_secret"
           r"|token")  # token: the in-app stream's identity (?token=<JWT>)
_SECRETS = re.compile(rf"(/connect/|[?&\s](?:{_PARAMS})=)[^&\s\"']+")
_AMAZON_TOKENS = re.compile(r"Atz[ar]\|[^\s\"'&]+")  # Amazon access and refresh tokens start like this
_JWTS = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")  # signed identities, wherever they appear
_SLACK_TOKENS = re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]+")  # bot, user, app-level and config tokens
_BEARER = re.compile(r"(\bBearer\s+)[^\s\"',]+", re.IGNORECASE)  # an Authorization header (LLM_API_KEY, METRICS_TOKEN)


def redact(text: str) -> str:
    cleaned = _AMAZON_TOKENS.sub("[redacted]", _SECRETS.sub(r"\1[redacted]", _BEARER.sub(r"\1[redacted]", text)))
    return _SLACK_TOKENS.sub("[redacted]", _JWTS.sub("[redacted]", cleaned))


def _redact_arg(arg: object) -> object:
    """A log argument with secrets removed; its type kept unless it had to be rewritten (httpx URLs)."""
    if isinstance(arg, int | float | bool) or arg is None:
        return arg
    text = str(arg)
    cleaned = redact(text)
    return arg if cleaned == text else cleaned


class RedactSecrets(logging.Filter):
    """Rewrites the message and each argument, keeping the arguments' shape (uvicorn's access
    formatter unpacks them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.args and isinstance(record.msg, str):
            record.msg = redact(record.msg)  # with arguments, the message is a format written by us
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        return True


def install(*logger_names: str) -> None:
    for name in ("", *logger_names):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
        for handler in logger.handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())
