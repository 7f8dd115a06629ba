"""No secret in a log line: link tokens and OAuth parameters are redacted before they are written."""

from __future__ import annotations

import logging

import pytest

from bot.logsafe import RedactSecrets, redact


@pytest.mark.parametrize(("line", "hidden"), [
    ('127.0.0.1 - "GET /connect/24cs93v8ypiuigsjvgex8gy5 HTTP/1.1" 302', "24cs93v8ypiuigsjvgex8gy5"),
    ("GET /oauth/amazon/callback?code=ANcode123&scope=x&state=s3cr3t HTTP/1.1", "ANcode123"),
    ("GET /oauth/amazon/callback?code=ANcode123&scope=x&state=s3cr3t HTTP/1.1", "s3cr3t"),
    ("GET /cb?selling_partner_id=A1&spapi_oauth_code=RHxyz HTTP/1.1", "RHxyz"),
    ("headers: {'Authorization': 'Bearer sk-live-abc123'}", "sk-live-abc123"),
])
def test_tokens_never_reach_the_log(line: str, hidden: str) -> None:
    assert hidden not in redact(line)
    assert "[redacted]" in redact(line)


def test_the_filter_rewrites_formatted_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.logsafe")
    logger.addFilter(RedactSecrets())
    with caplog.at_level(logging.INFO, logger="test.logsafe"):
        logger.info('%s - "%s %s"', "127.0.0.1", "GET", "/connect/abcdefSECRET")
    assert "abcdefSECRET" not in caplog.text and "/connect/[redacted]" in caplog.text


def test_uvicorn_access_lines_still_format_after_redaction() -> None:
    from uvicorn.logging import AccessFormatter

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/oauth/amazon/callback?code=ANx1&state=st4te", "1.1", 200),
                               None)
    RedactSecrets().filter(record)
    line = AccessFormatter("%(client_addr)s %(request_line)s %(status_code)s", use_colors=False).format(record)
    assert "ANx1" not in line and "st4te" not in line and "200" in line and "code=[redacted]" in line
