"""Re-encrypting every stored refresh token with the newest key, after a key was put in front.

Each row is rewritten in its own short transaction, so a large table does not hold one long lock
and a run that stops half-way can simply be run again (rows already rotated decrypt fine).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from bot.amazon.vault import TokenVault, VaultError
from bot.store.rows import CONNECTIONS


@dataclass(frozen=True)
class RotationReport:
    rotated: int
    unreadable: list[int]  # connection ids no configured key decrypts: left untouched


def rotate_stored_tokens(db: Engine, vault: TokenVault) -> RotationReport:
    with db.connect() as conn:
        ids = [row.id for row in conn.execute(select(CONNECTIONS.c.id).order_by(CONNECTIONS.c.id))]
    rotated, unreadable = 0, []
    for connection_id in ids:
        with db.begin() as conn:
            cipher = conn.execute(select(CONNECTIONS.c.refresh_token).where(
                CONNECTIONS.c.id == connection_id).with_for_update()).scalar_one()
            try:
                renewed = vault.rotate(cipher)
            except VaultError:
                unreadable.append(connection_id)
                continue
            conn.execute(update(CONNECTIONS).where(CONNECTIONS.c.id == connection_id).values(refresh_token=renewed))
            rotated += 1
    return RotationReport(rotated, unreadable)
