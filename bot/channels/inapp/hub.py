"""One per web process: fans "conversation N has something new" out to that conversation's open streams.

Wake-ups come from PostgreSQL's LISTEN (one connection per process, whatever process committed),
or in-process after a commit (SQLite, where the worker loop runs in the web process). Either way
the hub reads the new rows once per conversation, however many tabs have it open, and hands each
stream the frames after the last id it has sent. A poll every INAPP_STREAM_POLL_SECONDS compares
each watched conversation's newest row with what its streams have, so a lost notification (or a
LISTEN connection that dropped) delays a message, never loses it.

Others may watch every wake-up too (`observe`): the support console's live pages hear which conversations
changed, and None when the LISTEN connection (re)connects and something may have been missed.

Within one conversation, ids grow in commit order (every writer holds the conversation's lock), so
"everything after the last id sent" never skips a row.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine, Iterable

import psycopg
from anyio import to_thread

from bot.channels.inapp.messages import message_json
from bot.engine import Engine
from bot.engine.notices import MESSAGES_CHANNEL
from bot.types import Channel, ConversationKey

log = logging.getLogger("connectbot.inapp.hub")

Frame = tuple[int, bytes]  # (message id, its Server-Sent Event)
Observer = Callable[[int | None], None]  # a conversation that changed, or None: anything may have


def frame(message: dict[str, object]) -> bytes:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    return f"id: {message['id']}\nevent: message\ndata: {data}\n\n".encode()


class Watcher:
    """One open stream: the frames waiting to be written, and the last id it has been given."""

    __slots__ = ("key", "last_id", "frames", "ready", "conversation")

    def __init__(self, key: ConversationKey, last_id: int) -> None:
        self.key, self.last_id = key, last_id
        self.conversation: int | None = None  # None until the customer's conversation exists
        self.frames: list[bytes] = []
        self.ready = asyncio.Event()

    def offer(self, frames: Iterable[Frame]) -> None:
        for message_id, event in frames:
            if message_id > self.last_id:
                self.frames.append(event)
                self.last_id = message_id
        if self.frames:
            self.ready.set()

    async def take(self, timeout: float) -> list[bytes]:
        """The frames waiting, or [] after `timeout` seconds with none."""
        if not self.frames:
            try:
                await asyncio.wait_for(self.ready.wait(), timeout)
            except TimeoutError:
                return []
        taken, self.frames = self.frames, []
        self.ready.clear()
        return taken


class StreamHub:
    def __init__(self, engine: Engine, poll_seconds: float = 5.0) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.watching: dict[int, set[Watcher]] = {}  # conversation id -> its open streams
        self.waiting: dict[tuple[str, str], set[Watcher]] = {}  # (org, user) with no conversation yet
        self._keys: dict[int, ConversationKey | None] = {}  # conversation id -> who, for the waiting ones
        self._busy: set[int] = set()
        self._again: set[int] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._observers: list[Observer] = []
        self.listening = asyncio.Event()  # set while the LISTEN connection is up (tests and the bench wait on it)

    # ---- life ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks.append(asyncio.create_task(self._poll_forever()))
        if self.engine.postgres:
            self._tasks.append(asyncio.create_task(self._listen_forever()))
        else:
            self._unsubscribe = self.engine.notices.subscribe(self._committed)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        tasks = [*self._tasks, *self._running]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def _committed(self, conversation_ids: frozenset[int]) -> None:
        """Called in whatever thread committed: hop onto the hub's loop."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.wake_many, conversation_ids)

    # ---- streams come and go ------------------------------------------------------------------------------

    async def watch(self, watcher: Watcher) -> None:
        who = (watcher.key.org, watcher.key.user)
        self.waiting.setdefault(who, set()).add(watcher)  # first, so a notification during the lookup finds it
        conversation = await to_thread.run_sync(self.engine.conversation_id_for, watcher.key)
        if conversation is not None:
            self._settle(who, conversation)
            self._fetch_soon(conversation)

    def forget(self, watcher: Watcher) -> None:
        if watcher.conversation is None:
            who = (watcher.key.org, watcher.key.user)
            waiting = self.waiting.get(who)
            if waiting is not None:
                waiting.discard(watcher)
                if not waiting:
                    del self.waiting[who]
            return
        watchers = self.watching.get(watcher.conversation)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self.watching[watcher.conversation]

    def _settle(self, who: tuple[str, str], conversation: int) -> None:
        moving = self.waiting.pop(who, set())
        for watcher in moving:
            watcher.conversation = conversation
        if moving:
            self.watching.setdefault(conversation, set()).update(moving)

    def observe(self, observer: Observer) -> Callable[[], None]:
        """Call `observer` on the hub's loop for every conversation woken, and with None after a reconnect."""
        self._observers.append(observer)

        def unobserve() -> None:
            if observer in self._observers:
                self._observers.remove(observer)
        return unobserve

    def _tell_observers(self, conversation: int | None) -> None:
        for observer in list(self._observers):
            try:
                observer(conversation)
            except Exception:  # noqa: BLE001  an observer's failure must not stop the customers' streams
                log.exception("a conversation observer failed")

    # ---- wake-ups -----------------------------------------------------------------------------------------

    def wake_many(self, conversation_ids: Iterable[int]) -> None:
        for conversation in conversation_ids:
            self.wake(conversation)

    def wake(self, conversation: int) -> None:
        if self._observers:
            self._tell_observers(conversation)
        if conversation in self.watching:
            self._fetch_soon(conversation)
        elif self.waiting:
            self._spawn(self._maybe_new(conversation))

    async def _maybe_new(self, conversation: int) -> None:
        """A conversation nobody watches yet: it may be the first one of a stream that is waiting."""
        if conversation not in self._keys:
            if len(self._keys) > 10_000:
                self._keys.clear()
            self._keys[conversation] = await to_thread.run_sync(self.engine.conversation_key, conversation)
        key = self._keys[conversation]
        if key is not None and key.channel == Channel.WEBCHAT and (key.org, key.user) in self.waiting:
            self._settle((key.org, key.user), conversation)
            self._fetch_soon(conversation)

    def _fetch_soon(self, conversation: int) -> None:
        if conversation in self._busy:
            self._again.add(conversation)  # one read at a time per conversation; read again when it ends
            return
        self._busy.add(conversation)
        self._spawn(self._fetch(conversation))

    async def _fetch(self, conversation: int) -> None:
        try:
            while True:
                self._again.discard(conversation)
                watchers = self.watching.get(conversation)
                if not watchers:
                    return
                after = min(w.last_id for w in watchers)
                if self.engine.postgres:
                    rows = await to_thread.run_sync(self.engine.said_after, conversation, after)
                else:
                    # SQLite in WAL mode answers a read in well under a millisecond without waiting on
                    # writers; reading here saves two thread hops, each a wait for the GIL while turns run.
                    rows = self.engine.said_after(conversation, after)
                frames = [(row.id, frame(message_json(row))) for row in rows]
                for watcher in self.watching.get(conversation, ()):
                    watcher.offer(frames)
                if len(rows) < 500 and conversation not in self._again:
                    return
        except Exception:  # noqa: BLE001  the poll reads again; a stream must not die of one failed read
            log.exception("reading new messages for open streams failed")
        finally:
            self._busy.discard(conversation)

    def _spawn(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._running.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._running.discard)

    # ---- the two background loops ------------------------------------------------------------------------

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.poll()
            except Exception:  # noqa: BLE001  keeps polling; the next round tries again
                log.exception("the open streams' fallback poll failed")

    async def poll(self) -> None:
        """One look at the database for whatever the notifications did not bring."""
        if self.waiting:
            users = sorted({user for _, user in self.waiting})
            found = await to_thread.run_sync(self.engine.open_conversations, Channel.WEBCHAT, users)
            for who, conversation in found.items():
                if who in self.waiting:
                    self._settle(who, conversation)
                    self._fetch_soon(conversation)
        if self.watching:
            conversations = list(self.watching)
            newest = await to_thread.run_sync(self.engine.newest_said, conversations)
            for conversation, top in newest.items():
                watchers = self.watching.get(conversation)
                if watchers and min(w.last_id for w in watchers) < top:
                    self._fetch_soon(conversation)

    async def _listen_forever(self) -> None:
        conninfo = self.engine.db.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True,
                                                                 connect_timeout=5) as conn:
                    await conn.execute(f"LISTEN {MESSAGES_CHANNEL}")
                    self.listening.set()
                    self._tell_observers(None)  # what was committed while not listening was heard by nobody
                    self.wake_many(list(self.watching))  # whatever was committed while not listening
                    async for notice in conn.notifies():
                        if notice.payload.isdigit():
                            self.wake(int(notice.payload))
            except (psycopg.Error, OSError) as exc:
                self.listening.clear()
                log.warning("the streams' LISTEN connection is down (%s); polling until it is back",
                            type(exc).__name__)
                await asyncio.sleep(1.0)
