"""When to try again: exponential backoff with a cap, and Retry-After as a server sends it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

LONGEST_RETRY_AFTER = timedelta(hours=1)  # a server asking for more is retried after an hour all the same


def backoff(attempts: int, base_seconds: float, cap_seconds: float) -> timedelta:
    """Delay before the next try after `attempts` failed ones: base, 2x base, 4x base ... up to the cap."""
    exponent = max(attempts - 1, 0)
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** min(exponent, 32)))


def retry_after(header: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (seconds, or an HTTP date) as a delay; None when absent or unreadable."""
    if not header:
        return None
    value = header.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        delay = max(moment - now, timedelta(0))
    return min(delay, LONGEST_RETRY_AFTER)
