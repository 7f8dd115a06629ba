"""Signed webhooks: HMAC-SHA256 over f"{timestamp}.{raw body}", a 5-minute window, constant-time compare.

The sender puts the Unix timestamp in `X-Sync-Timestamp` and `sha256=<hex digest>` in
`X-Sync-Signature`. Replays inside the window are caught by the idempotency key (see `replay_key`).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

WINDOW_SECONDS = 300
TIMESTAMP_HEADER = "X-Sync-Timestamp"
SIGNATURE_HEADER = "X-Sync-Signature"
_PREFIX = "sha256="


class SignatureRejected(ValueError):
    """The request is unsigned, stale or signed with another secret; the message says which."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: datetime) -> None:
    """Raise SignatureRejected unless the request was signed with `secret` within the window."""
    if not timestamp or not signature:
        raise SignatureRejected(f"unsigned: {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required")
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureRejected(f"{TIMESTAMP_HEADER} is not a Unix timestamp") from None
    age = now.timestamp() - sent
    if abs(age) > WINDOW_SECONDS:
        raise SignatureRejected(f"stale: signed {int(age)} s from now, outside the {WINDOW_SECONDS} s window")
    if not hmac.compare_digest(sign(secret, sent, body), signature.strip()):
        raise SignatureRejected("bad signature")


def replay_key(connection_id: int, event_id: str, signature: str) -> str:
    """The idempotency key of a webhook: the sender's event id, else the signature (same request, same key)."""
    # Hashed, so an event id that looks like the signature form (or shares a long prefix) never collides.
    if event_id:
        digest = hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()
        return f"hook:{connection_id}:event:{digest}"
    return f"hook:{connection_id}:sig:{hashlib.sha256(signature.encode('utf-8', 'surrogatepass')).hexdigest()}"
