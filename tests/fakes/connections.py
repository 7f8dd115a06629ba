"""Amazon connections for tests, until the OAuth callback stores them itself (issue 3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from bot.app import Services
from bot.store.rows import CONNECTIONS
from bot.types import ConversationKey
from tests.fakes.talk import CUSTOMER, click, say


def add_connection(services: Services, conversation_id: int, region: str = "EU",
                   created_at: datetime | None = None) -> int:
    """The conversation's connection row: the one the callback stored, else a new one like it would store."""
    with services.db.begin() as conn:
        found = conn.execute(select(CONNECTIONS.c.id).where(CONNECTIONS.c.conversation_id == conversation_id)
                             .order_by(CONNECTIONS.c.id.desc())).first()
        if found is not None:
            return int(found.id)
        return int(conn.execute(insert(CONNECTIONS).values(
            conversation_id=conversation_id, org="acme", kind="ads", account_type="vendor", region=region,
            profiles=[{"country": "DE", "type": "vendor"}], marketplaces=["DE"], verdict="ok",
            refresh_token="test-ciphertext", created_at=created_at or services.clock.now(),
            sync_status="pending", sync_progress=0).returning(CONNECTIONS.c.id)).scalar_one())


def connected_vendor(services: Services, key: ConversationKey = CUSTOMER) -> tuple[int, int]:
    """A vendor on amazon.de signed in through the bot; returns (conversation id, connection id)."""
    say(services, "vendor here, we want to connect amazon.de", key)
    click(services, "Yes", key)
    conversation = services.engine.conversation_id_for(key)
    assert conversation is not None
    attempt = services.engine.pending_link(conversation)
    assert attempt is not None
    services.engine.complete_link(attempt.state_token, {
        "region": "EU", "result": "ok", "found_types": ["vendor"], "matched": ["DE"], "missing": []})
    click(services, "Skip for now", key)
    return conversation, add_connection(services, conversation)


def sync_row(services: Services, connection_id: int) -> tuple[str, int]:
    with services.db.connect() as conn:
        row = conn.execute(select(CONNECTIONS.c.sync_status, CONNECTIONS.c.sync_progress)
                           .where(CONNECTIONS.c.id == connection_id)).one()
    return str(row.sync_status), int(row.sync_progress)
