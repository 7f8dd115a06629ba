"""`Engine`: the one face the channels, the callback, the worker and the tests talk to.

Each entry point is one transaction and lives in the module named for it; this class only
forwards to them, so finding "where a link is completed" or "where a timer fires" is one hop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.engine import grants, links, reads, sync, timers
from bot.engine.records import Claim, GrantRecord, StoredGrant, TurnResult
from bot.engine.turn import Turns
from bot.store.rows import AttemptRow
from bot.sync.report import SyncReport
from bot.types import Channel, ConversationKey


class Engine(Turns):
    """The turn (`handle`, from Turns) and every other entry point of the engine."""

    # ---- links (bot/engine/links.py) ----------------------------------------------------------

    def claim_link(self, state_token: str) -> Claim:
        return links.claim_link(self, state_token)

    def complete_link(self, state_token: str, verdict: dict[str, Any], grant: GrantRecord | None = None,
                      claimed: bool = False) -> TurnResult:
        return links.complete_link(self, state_token, verdict, grant, claimed)

    def link_expired(self, state_token: str) -> TurnResult:
        return links.link_expired(self, state_token)

    def pending_link(self, conversation_id: int) -> AttemptRow | None:
        return links.pending_link(self, conversation_id)

    def link(self, state_token: str) -> AttemptRow | None:
        return links.link(self, state_token)

    # ---- re-checks with a stored grant (bot/engine/grants.py) ---------------------------------

    def due_rechecks(self, limit: int = 10) -> list[tuple[int, int]]:
        return grants.due_rechecks(self, limit)

    def recheck_waiting(self) -> bool:
        return grants.recheck_waiting(self)

    def grant_of(self, conversation_id: int) -> StoredGrant | None:
        return grants.grant_of(self, conversation_id)

    def complete_recheck(self, timer_id: int, connection_id: int | None, verdict: dict[str, Any]) -> TurnResult:
        return grants.complete_recheck(self, timer_id, connection_id, verdict)

    # ---- first-sync reports (bot/engine/sync.py) ----------------------------------------------

    def report_sync(self, connection_id: int, report: SyncReport, key: str) -> TurnResult:
        return sync.report_sync(self, connection_id, report, key)

    def latest_connection(self, conversation_id: int) -> int | None:
        return sync.latest_connection(self, conversation_id)

    # ---- timers (bot/engine/timers.py) --------------------------------------------------------

    def fire_due_timers(self, limit: int = 1000, batch: int = 1) -> list[TurnResult]:
        return timers.fire_due_timers(self, limit, batch)

    def next_timer_due(self) -> datetime | None:
        return timers.next_timer_due(self)

    # ---- what channels read back (bot/engine/reads.py) ----------------------------------------

    def outbox_after(self, conversation_id: int, after_id: int) -> list[tuple[int, dict[str, Any]]]:
        return reads.outbox_after(self, conversation_id, after_id)

    def last_outbox_id(self, conversation_id: int) -> int:
        return reads.last_outbox_id(self, conversation_id)

    def conversation_channel(self, conversation_id: int) -> str:
        return reads.conversation_channel(self, conversation_id)

    def conversation_id_for(self, key: ConversationKey) -> int | None:
        return reads.conversation_id_for(self, key)

    def said_after(self, conversation_id: int, after_id: int, limit: int = 500) -> list[reads.SaidRow]:
        return reads.said_after(self, conversation_id, after_id, limit)

    def said_in_turn(self, conversation_id: int, client_message_id: str) -> list[reads.SaidRow]:
        return reads.said_in_turn(self, conversation_id, client_message_id)

    def newest_said(self, conversation_ids: list[int]) -> dict[int, int]:
        return reads.newest_said(self, conversation_ids)

    def conversation_key(self, conversation_id: int) -> ConversationKey | None:
        return reads.conversation_key(self, conversation_id)

    def open_conversations(self, channel: Channel, users: list[str]) -> dict[tuple[str, str], int]:
        return reads.open_conversations(self, channel, users)
