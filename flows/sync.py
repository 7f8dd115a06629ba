"""The first sync: up to 48 hours. Progress when it matters, the real status when asked, a person at 48 h."""

from __future__ import annotations

from datetime import timedelta

from bot.types import Topic
from flows.base import CancelTimers, Ctx, Flow, Node, Say, StartTimer, Step, goto, stay
from flows.handoff import handoff
from flows.states import Sync as S

WINDOW = timedelta(hours=48)
MILESTONES = (0, 50)  # started, halfway: the progress updates worth a message
_SYNC_TIMERS = (CancelTimers("sync_overdue"), CancelTimers("sync_stalled"))  # both end with the sync


def time_left(ctx: Ctx) -> timedelta | None:
    if ctx.journey.connected_at is None:
        return None
    return max(ctx.journey.connected_at + WINDOW - ctx.now, timedelta(0))


def status_answer(ctx: Ctx) -> Say:
    """The sync's real state, for 'is it connected yet?' asked at any point."""
    j = ctx.journey
    left = time_left(ctx)
    return Say("sync/status", topic=Topic.SYNC_STATUS, vars={
        "connected": bool(j.connections),
        "link_open": bool(j.pending_regions) or ctx.state == "sp_api.required",
        "regions": [c.region for c in j.connections],
        "status": j.sync_status or "waiting",
        "progress": j.sync_progress,
        "hours_left": None if left is None else int(left.total_seconds() // 3600),
        "case_open": j.case_status in ("open", "claimed"),
    })


def on_sync(ctx: Ctx) -> Step:
    """A sync update from the platform, in whatever state the conversation is."""
    j = ctx.journey
    status = str(ctx.data.get("status", ""))
    progress = int(ctx.data.get("progress", 0) or 0)
    j.sync_updated_at = ctx.now
    if status in ("completed", "failed") and j.sync_status == status:
        return stay()  # another connection of this conversation (SP-API, a second region) says the same: once is enough
    if status == "completed":
        j.sync_status, j.sync_progress = "completed", 100
        done = Say("sync/completed", topic=Topic.SYNC_STATUS)
        if ctx.state == S.SYNCING:
            return goto(S.DONE, done, effects=_SYNC_TIMERS)
        return stay(done, effects=_SYNC_TIMERS)
    if status == "failed":
        j.sync_status = "failed"
        j.note_error("sync_failed", ctx.state, ctx.now, detail=str(ctx.data.get("error", "")))
        step = handoff(ctx, "sync_failed")
        return Step(to=step.to, say=(Say("sync/failed", topic=Topic.SYNC_OVERDUE,
                                         vars={"error": str(ctx.data.get("error", ""))}), *step.say),
                    effects=(*_SYNC_TIMERS, *step.effects))
    if j.sync_status == "failed":  # the platform tries again (often after a strategist's fix): count afresh
        j.sync_progress, j.sync_reported = 0, -1
    # A status that goes backwards is kept as the higher figure: the customer never sees progress shrink.
    j.sync_status = "in_progress"
    j.sync_progress = max(j.sync_progress, min(progress, 99))
    # Every report re-arms the stall check (one pending timer per kind): silence, not slowness, is a stall.
    watch = (StartTimer("sync_stalled", ctx.timing.sync_stall, guarded=False),)
    reached = [m for m in MILESTONES if j.sync_progress >= m and m > j.sync_reported]
    if not reached:
        return stay(effects=watch)
    j.sync_reported = reached[-1]
    return stay(Say("sync/progress", topic=Topic.SYNC_STATUS, vars={"progress": j.sync_progress}), effects=watch)


def on_stalled(ctx: Ctx) -> Step:
    """A started sync that has not moved for the configured time: a person looks before the 48 h are up."""
    j = ctx.journey
    since = j.sync_updated_at or j.connected_at
    if j.sync_status != "in_progress" or since is None or ctx.now - since < ctx.timing.sync_stall:
        return stay()  # it finished, failed or moved since the timer was armed
    if j.case_status in ("open", "claimed"):
        return stay()  # a person already has the conversation: no second case, nothing new to tell the customer
    hours = int((ctx.now - since).total_seconds() // 3600)
    j.note_error("sync_stalled", ctx.state, ctx.now, detail=f"no progress for {hours} h at {j.sync_progress}%")
    step = handoff(ctx, "sync_stalled")
    return Step(to=step.to, say=(Say("sync/stalled", topic=Topic.SYNC_OVERDUE,
                                     vars={"hours": hours, "progress": j.sync_progress}), *step.say),
                effects=step.effects)


def on_overdue(ctx: Ctx) -> Step:
    """48 hours after connecting without a completed sync: a Data Strategist takes over."""
    if ctx.journey.sync_status == "completed":
        return stay()
    ctx.journey.note_error("sync_overdue", ctx.state, ctx.now, detail="first sync not complete after 48 h")
    step = handoff(ctx, "sync_overdue")
    return Step(to=step.to, say=(Say("sync/overdue", topic=Topic.SYNC_OVERDUE), *step.say),
                effects=(CancelTimers("sync_stalled"), *step.effects))  # the 48 h mark supersedes the stall check


FLOW = Flow(
    name="sync",
    summary="Waiting for the first sync (up to 48 h), reporting progress, and its end.",
    entry=S.SYNCING,
    states={
        S.SYNCING: Node(topic=Topic.SYNC_STATUS, say="sync/syncing", exits=(S.DONE,), resumable=False),
        S.DONE: Node(topic=Topic.SYNC_STATUS, resumable=False),
    },
)
