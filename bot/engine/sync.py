"""First-sync reports: the connection row and the conversation's turn, in one transaction."""

from __future__ import annotations

from sqlalchemy import update

from bot.engine.records import SyncRegression, TurnResult, UnknownConnection
from bot.engine.turn import Turns
from bot.store.rows import CONNECTIONS
from bot.sync.report import SyncReport, regression
from bot.types import Inbound, InboundKind


def report_sync(turns: Turns, connection_id: int, report: SyncReport, key: str) -> TurnResult:
    """The platform reports a connection's first sync: the row and the conversation's turn, in one transaction.

    A key seen before is a duplicate (TurnResult.duplicate, nothing written); a report that would move
    the stored status backwards raises SyncRegression; an unknown id raises UnknownConnection.
    """
    with turns.begin() as conn:
        connection = turns.sql.lock_connection(conn, connection_id)
        if connection is None:
            raise UnknownConnection(f"no connection with id {connection_id}")
        if turns.sql.key_seen(conn, key):
            return TurnResult(connection.conversation_id, duplicate=True)
        backwards = regression(connection.sync_status, connection.sync_progress, report)
        if backwards:
            raise SyncRegression(f"connection {connection_id}: {backwards}")
        conversation = turns.lock_by_id(conn, connection.conversation_id)
        inbound = Inbound(InboundKind.SYNC, key=key, data={**report.as_data(), "connection_id": connection_id})
        result = turns.run(conn, conversation, inbound, None)
        if not result.duplicate:
            conn.execute(update(CONNECTIONS).where(CONNECTIONS.c.id == connection_id).values(
                sync_status=report.status, sync_progress=report.progress, sync_updated_at=turns.clock.now()))
        return result


def latest_connection(turns: Turns, conversation_id: int) -> int | None:
    """The id of a conversation's newest Amazon connection: what a scripted sync report is about."""
    with turns.db.connect() as conn:
        found = turns.sql.latest_connection(conn, conversation_id)
        return found.id if found else None
