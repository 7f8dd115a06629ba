"""Sign-in and consent links: claim one for a callback, complete it with Amazon's verdict, expire it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, update

from bot.engine.records import CHECKING, BadInput, Claim, GrantRecord, TurnResult
from bot.engine.turn import Turns
from bot.store.rows import ATTEMPTS, CONNECTIONS, AttemptRow, ConversationRow
from bot.types import Inbound, InboundKind


def claim_link(turns: Turns, state_token: str) -> Claim:
    """Take a link for one callback: exactly one of any number of concurrent callbacks gets it.

    The row is marked used before Amazon is called, so a replayed or doubled callback is refused
    even while the first is still talking to Amazon.
    """
    now = turns.clock.now()
    with turns.begin() as conn:
        attempt = turns.sql.attempt(conn, state_token[:100])
        if attempt is None:
            return Claim(None, "unknown")
        if attempt.used_at is not None:
            return Claim(attempt, "used")
        if attempt.expires_at < now:
            return Claim(attempt, "expired")
        taken = conn.execute(update(ATTEMPTS).where(
            ATTEMPTS.c.id == attempt.id, ATTEMPTS.c.used_at.is_(None)).values(used_at=now, outcome=CHECKING))
        if taken.rowcount != 1:
            return Claim(attempt, "used")
    return Claim(attempt, "")


def complete_link(turns: Turns, state_token: str, verdict: dict[str, Any], grant: GrantRecord | None = None,
                  claimed: bool = False) -> TurnResult:
    """Amazon answered a link: record the verdict (and the grant) and let the conversation act on it.

    `claimed` says the caller took the link with claim_link first (the HTTP callback does);
    otherwise the link is taken here, once only.
    """
    with turns.begin() as conn:
        attempt = turns.hot.attempt(conn, state_token)
        if attempt is None:
            raise BadInput("this sign-in link is unknown")
        now = turns.clock.now()
        if claimed:
            if attempt.outcome != CHECKING:
                raise BadInput("this sign-in link was already used")
        elif attempt.used_at is not None:
            raise BadInput("this sign-in link was already used")
        elif attempt.expires_at < now:
            raise BadInput("this sign-in link has expired")
        turns.hot.use_attempt(conn, attempt.id, attempt.used_at or now, str(verdict.get("result", ""))[:40], verdict)
        conversation = turns.lock_by_id(conn, attempt.conversation_id)
        data: dict[str, Any] = {**verdict, "link": attempt.kind}
        if grant is not None:
            data["connection_id"] = _store_grant(conn, conversation, attempt, verdict, grant, now)
        inbound = Inbound(InboundKind.AMAZON, key=f"oauth:{state_token}", data=data)
        return turns.run(conn, conversation, inbound, None)


def link_expired(turns: Turns, state_token: str) -> TurnResult:
    """The customer opened a link too late: the conversation offers a fresh one (once per link)."""
    with turns.begin() as conn:
        attempt = turns.sql.attempt(conn, state_token)
        if attempt is None:
            raise BadInput("this sign-in link is unknown")
        conversation = turns.lock_by_id(conn, attempt.conversation_id)
        inbound = Inbound(InboundKind.AMAZON, key=f"expired:{state_token}",
                          data={"result": "link_expired", "region": attempt.region, "link": attempt.kind})
        return turns.run(conn, conversation, inbound, None)


def pending_link(turns: Turns, conversation_id: int) -> AttemptRow | None:
    """The newest link of a conversation not used yet: what 'the customer opens the link' opens."""
    with turns.db.connect() as conn:
        return turns.hot.newest_unused(conn, conversation_id)


def link(turns: Turns, state_token: str) -> AttemptRow | None:
    with turns.db.connect() as conn:
        return turns.sql.attempt(conn, state_token[:100])


def _store_grant(conn: Connection, conversation: ConversationRow, attempt: AttemptRow,
                 verdict: dict[str, Any], grant: GrantRecord, now: datetime) -> int:
    """The connection record support needs; the refresh token only as ciphertext."""
    connection_id: int = conn.execute(insert(CONNECTIONS).values(
        conversation_id=conversation.id, org=conversation.org, kind="ads" if attempt.kind == "signin" else "spapi",
        account_type=attempt.account_type, region=attempt.region, profiles=list(verdict.get("found", [])),
        marketplaces=list(verdict.get("matched", attempt.marketplaces)), verdict=str(verdict.get("result", "")),
        selling_partner_id=grant.selling_partner_id, refresh_token=grant.refresh_token_ciphertext,
        created_at=now, sync_status="pending", sync_progress=0, sync_updated_at=None,
    ).returning(CONNECTIONS.c.id)).scalar_one()
    return connection_id
