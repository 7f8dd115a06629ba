"""PKCE (RFC 7636) for the sign-in link: the verifier stays with us, only its S256 challenge travels.

A code intercepted on the way back is useless without the verifier, which never leaves the server.
"""

from __future__ import annotations

import base64
import hashlib


def s256_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_valid_verifier(verifier: str) -> bool:
    """43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 section 4.1)."""
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    return 43 <= len(verifier) <= 128 and set(verifier) <= allowed
