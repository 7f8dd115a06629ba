"""Where outbox rows go: an HTTP endpoint per audience, or nowhere (the widget reads them from the API).

A target answers each try with one of three results: delivered, try again (after an optional
delay the receiver asked for), or never (the receiver refused the message for good). Exactly
once to people is at-least-once delivery plus the `Idempotency-Key` header, which a receiver
must honour: a repeated key is acknowledged (2xx) and not shown again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from bot.retry import retry_after


@dataclass(frozen=True)
class Envelope:
    """One outbox row as it travels: the message plus who it is for."""

    outbox_id: int
    conversation_id: int
    audience: str
    channel: str
    org: str
    user: str
    payload: dict[str, Any]

    @property
    def idempotency_key(self) -> str:
        return f"connectbot-outbox-{self.outbox_id}"

    def body(self) -> dict[str, Any]:
        return {**self.payload, "id": self.idempotency_key, "conversation": f"c-{self.conversation_id}",
                "channel": self.channel, "org": self.org, "user": self.user}


@dataclass(frozen=True)
class Delivered:
    http_status: int | None = None


@dataclass(frozen=True)
class TryAgain:
    error: str
    http_status: int | None = None
    after: timedelta | None = None  # what the receiver asked for (429 Retry-After); None: our backoff


@dataclass(frozen=True)
class Refused:
    error: str
    http_status: int | None = None


Result = Delivered | TryAgain | Refused


class DeliveryTarget(Protocol):
    def deliver(self, envelope: Envelope, now: datetime) -> Result: ...

    def is_local(self, audience: str) -> bool:
        """True when nothing leaves the process for this audience: rows are marked delivered as claimed."""
        ...

    def close(self) -> None: ...


class LocalTarget:
    """The embedded default: nothing to send; the widget reads messages from the chat API."""

    def deliver(self, envelope: Envelope, now: datetime) -> Result:
        return Delivered()

    def is_local(self, audience: str) -> bool:
        return True

    def close(self) -> None:
        return None


# 408 and 429 say "not now"; every other 4xx says the request itself is wrong and will stay wrong.
_RETRYABLE_4XX = {408, 425, 429}


class HttpTarget:
    """POSTs the message JSON to the audience's URL; audiences without a URL fall back to `fallback`."""

    def __init__(self, urls: Mapping[str, str], timeout_seconds: float, fallback: DeliveryTarget | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.urls = dict(urls)
        self.fallback = fallback or LocalTarget()
        self.client = httpx.Client(timeout=timeout_seconds, follow_redirects=False, transport=transport,
                                   headers={"User-Agent": "connectbot-outbox"})

    def is_local(self, audience: str) -> bool:
        return not self.urls.get(audience) and self.fallback.is_local(audience)

    def deliver(self, envelope: Envelope, now: datetime) -> Result:
        url = self.urls.get(envelope.audience)
        if not url:
            return self.fallback.deliver(envelope, now)
        try:
            response = self.client.post(url, content=json.dumps(envelope.body()), headers={
                "Content-Type": "application/json", "Idempotency-Key": envelope.idempotency_key})
        except httpx.TimeoutException as exc:
            return TryAgain(f"no answer within the timeout ({type(exc).__name__})")
        except httpx.TransportError as exc:
            return TryAgain(f"could not reach the target: {type(exc).__name__}: {exc}")
        status = response.status_code
        if 200 <= status < 300:
            return Delivered(status)
        summary = f"HTTP {status}: {response.text[:200].strip()}"
        if status == 429:
            return TryAgain(summary, status, retry_after(response.headers.get("Retry-After"), now))
        if status >= 500 or status in _RETRYABLE_4XX:
            return TryAgain(summary, status)
        return Refused(summary, status)

    def close(self) -> None:
        self.client.close()


def target_for(urls: Mapping[str, str | None], timeout_seconds: float) -> DeliveryTarget:
    """The target the settings describe: HTTP for audiences with a URL, local for the rest."""
    configured = {audience: url for audience, url in urls.items() if url}
    return HttpTarget(configured, timeout_seconds) if configured else LocalTarget()
