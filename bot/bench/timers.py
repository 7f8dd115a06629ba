"""`python -m bot bench timers`: real worker processes on PostgreSQL fire N due timers, with figures.

N timers fall due at once; W `python -m bot worker` processes fire them. Prints the seconds from
the commit that made them due until none is pending, double fires (must be 0), and beside it the
bare transaction rate of the same run (bot/bench/bare.py, one connection, measured just before
and just after the firing, with the workers idle) and the ratio of the two.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, insert, select

from bot.bench.bare import BareTransaction
from bot.bench.figures import Stopwatch, elapsed, line, per_second, ratio
from bot.bench.postgres import fresh_schema, scalar, wait_until, worker_processes
from bot.heartbeat import HEARTBEATS
from bot.store.rows import CONVERSATIONS, TIMERS, TRANSCRIPT
from bot.types import Channel, ConversationKey, Inbound, InboundKind

BARE_TRANSACTIONS = 500  # before the firing, and as many after


def run_timers(database_url: str, timers: int, workers: int) -> int:
    with fresh_schema(database_url) as services:
        url = services.settings.database_url
        engine = services.engine
        # One real conversation that asked for the 24 h reminder; the others are copies of its row.
        key = ConversationKey(Channel.WEBCHAT, "bench", "model")
        engine.handle(key, Inbound(InboundKind.SAY, "m1", text="we never ran a campaign on amazon"))
        engine.handle(key, Inbound(InboundKind.CLICK, "m2", text="Yes, remind me"))
        with services.db.begin() as conn:
            model = conn.execute(select(CONVERSATIONS).where(CONVERSATIONS.c.user_id == "model")).one()
            timer = conn.execute(select(TIMERS).where(TIMERS.c.conversation_id == model.id)).one()
            conn.execute(TIMERS.delete())
            now = services.clock.now()
            ids = conn.execute(insert(CONVERSATIONS).returning(CONVERSATIONS.c.id), [dict(
                channel="webchat", org="bench", user_id=f"u{n}", status="open", state=model.state,
                slots=model.slots, version=1, created_at=now, updated_at=now) for n in range(timers)]).scalars().all()
        bare, bares = BareTransaction(services.db), Stopwatch()
        with worker_processes(url, workers, {}):
            wait_until(lambda: scalar(services, select(func.count()).select_from(HEARTBEATS)) >= workers)
            bare.measure(BARE_TRANSACTIONS, bares)
            with services.db.begin() as conn:
                due = services.clock.now() - timedelta(minutes=1)
                conn.execute(insert(TIMERS), [dict(conversation_id=cid, kind=timer.kind, guard_state=timer.guard_state,
                                                   due_at=due, status="pending", created_at=due, fired_at=None)
                                              for cid in ids])
            start = time.perf_counter()
            wait_until(lambda: scalar(services, select(func.count()).where(TIMERS.c.status == "pending")) == 0)
            seconds = elapsed(start)
            bare.measure(BARE_TRANSACTIONS, bares)
        with services.db.connect() as conn:
            per_conversation = conn.execute(select(func.count()).where(TRANSCRIPT.c.kind == "timer").group_by(
                TRANSCRIPT.c.conversation_id)).scalars().all()
            fired = conn.execute(select(func.count()).where(TIMERS.c.status == "fired")).scalar_one()
    doubles = sum(n - 1 for n in per_conversation if n > 1)
    rate = per_second(fired, seconds)
    line("timers", f"{fired} of {timers} fired by {workers} worker processes in {seconds:.2f} s "
         f"({rate:.0f} timers/s); double fires: {doubles}")
    line("  bare", f"{bares.count} txns  {bares.rate:.0f} txns/s  {bares.cuts()}  (select + 2 inserts + update, "
         "one connection, before and after the firing)")
    line("  ratio", f"{ratio(rate, bares.rate):.1f}x the bare transaction rate")
    return 0 if doubles == 0 and fired == timers else 1
