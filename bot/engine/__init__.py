"""The engine: one transaction per entry point.

    turn.py      the turn (lock, decide, write) and what every entry point shares
    links.py     claim, complete and expire sign-in and consent links
    grants.py    re-checks with a stored Amazon grant
    sync.py      first-sync reports
    cases.py     a turn's case effects: open (with the packet), update, the strategists' ping
    timers.py    claim and fire due timers (timer_failure.py: backoff and dead timers)
    reads.py     what the channels read back (outbox rows, a conversation's id and channel)
    facade.py    `Engine`, forwarding to all of the above
"""

from bot.engine.facade import Engine
from bot.engine.payload import outbound_from_json, outbound_json
from bot.engine.records import (
    BadInput,
    CaseRow,
    Claim,
    GrantRecord,
    StoredGrant,
    SyncRegression,
    TurnResult,
    UnknownConnection,
)

__all__ = [
    "BadInput", "CaseRow", "Claim", "Engine", "GrantRecord", "StoredGrant", "SyncRegression", "TurnResult",
    "UnknownConnection", "outbound_from_json", "outbound_json",
]
