"""Refresh tokens at rest: Fernet ciphertext only, with key rotation.

Keys come from TOKEN_ENCRYPTION_KEYS (comma-separated, newest first). The newest key encrypts;
every listed key decrypts, so a new key can be put in front and old rows re-encrypted later with
`python -m bot keys rotate`. With the local stand-in and no keys set, a development key is kept
in a file beside the database so `make run` needs no setup; with Amazon configured a key is required.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.config import Settings


class VaultError(RuntimeError):
    """The keys are missing or malformed, or a stored token cannot be decrypted with them."""


@dataclass(frozen=True)
class TokenVault:
    keys: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise VaultError("no token encryption key: set TOKEN_ENCRYPTION_KEYS "
                             "(make one with `python -m bot keys new`)")
        try:
            for key in self.keys:
                Fernet(key)
        except ValueError:
            raise VaultError("TOKEN_ENCRYPTION_KEYS holds a malformed key: each key is 32 url-safe "
                             "base64-encoded bytes, as `python -m bot keys new` prints") from None

    @property
    def _fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(k) for k in self.keys])

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, cipher: str) -> str:
        try:
            return self._fernet.decrypt(cipher.encode()).decode()
        except InvalidToken:
            raise VaultError("a stored token cannot be decrypted with the configured keys") from None

    def rotate(self, cipher: str) -> str:
        """The same token, encrypted with the newest key."""
        try:
            return self._fernet.rotate(cipher.encode()).decode()
        except InvalidToken:
            raise VaultError("a stored token cannot be decrypted with the configured keys") from None


def new_key() -> str:
    return Fernet.generate_key().decode()


def vault_for(settings: Settings) -> TokenVault:
    configured = [k.strip() for k in (settings.token_encryption_keys or "").split(",") if k.strip()]
    if configured:
        return TokenVault(tuple(configured))
    if settings.amazon_live:
        raise VaultError("Amazon credentials are configured but TOKEN_ENCRYPTION_KEYS is not: refresh tokens "
                         "must be encrypted with a key of yours (make one with `python -m bot keys new`)")
    return TokenVault((_development_key(Path(settings.token_key_file)),))


def _development_key(path: Path) -> str:
    """A key kept on this machine for the stand-in's tokens; created once, readable by this user only."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_key()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    return key
