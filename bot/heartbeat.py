"""Worker heartbeats: each worker loop writes its row as it goes; /readyz reads the freshest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine as DbEngine
from sqlalchemy import func, insert, select, update

from bot.clock import as_utc
from bot.store.models import WorkerHeartbeat
from bot.store.rows import table

HEARTBEATS = table(WorkerHeartbeat)


def beat(db: DbEngine, worker: str, now: datetime) -> None:
    with db.begin() as conn:
        found = conn.execute(update(HEARTBEATS).where(HEARTBEATS.c.worker == worker).values(beat_at=now))
        if found.rowcount == 0:
            conn.execute(insert(HEARTBEATS).values(worker=worker, started_at=now, beat_at=now, stopped_at=None))


def stopped(db: DbEngine, worker: str, now: datetime) -> None:
    with db.begin() as conn:
        conn.execute(update(HEARTBEATS).where(HEARTBEATS.c.worker == worker).values(stopped_at=now))


def freshest(db: DbEngine) -> datetime | None:
    """The latest beat of a worker that has not said it stopped."""
    with db.connect() as conn:
        latest = conn.execute(select(func.max(HEARTBEATS.c.beat_at)).where(HEARTBEATS.c.stopped_at.is_(None))).scalar()
    return as_utc(latest) if latest else None
