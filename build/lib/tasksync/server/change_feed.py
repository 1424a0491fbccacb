"""Events committed by any server replica on a shared database, to this replica's hub.

Each replica publishes its own commits at once (as a single server does) and learns of the
others' through PostgreSQL's LISTEN/NOTIFY: a notification carries a repository and a seq,
never the events, and the feed reads what it has not published from the change log. So
the hub sees every repository's events once and in seq order, whoever wrote them:

- a local event right after the last one published goes out at once;
- one that leaves a gap (another replica's commit not heard of yet), or a notification
  beyond what was published, starts a catch-up that reads the log from the last seq
  published (later local events wait for it);
- notifications are not durable: whenever the listening connection is (re)opened, and
  every POLL_S while it is quiet, the feed reads every repository's last seq and catches
  up, so an event missed while the link was down is read from the log, never lost.

A repository nobody here subscribes to is not read at all: its last seq is just noted (a
later subscriber replays the log from its own seq).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import msgspec
import psycopg

from tasksync.models import ChangeEvent
from tasksync.store.base import StorageError
from tasksync.store.postgres import CHANNEL

POLL_S = 2.0  # a quiet listener reads every repository's last seq this often
CALL_TIMEOUT_S = 5.0  # a listener's query that takes longer means its link is bad
PAGE = 1000
log = logging.getLogger("tasksync.change_feed")


class _Notice(msgspec.Struct):
    r: str
    s: int


_decode_notice = msgspec.json.Decoder(_Notice).decode


class ChangeFeed:
    """Publishes committed events in seq order per repository (see the module's text).

    `read(repository, after, limit)` reads the log (a coroutine, e.g. TaskService.changes);
    `publish(events)` is the hub's; `watched(repository)` says whether anyone here
    subscribes to it.
    """

    def __init__(self, url: str, read: Callable[[str, int, int], Any],
                 publish: Callable[[list[ChangeEvent]], None],
                 watched: Callable[[str], bool]) -> None:
        self.url = url
        self._read = read
        self._publish = publish
        self._watched = watched
        self._published: dict[str, int] = {}
        self._wanted: dict[str, int] = {}
        self._catching_up: dict[str, asyncio.Task[None]] = {}
        self._listener: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.reconnects = 0  # times the listening connection was opened again
        self.catch_ups = 0  # log reads for events this replica did not publish itself

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self, timeout: float = 10.0) -> None:
        """Listen; StorageError when no first connection within `timeout` (the replica
        would not know where its live events start)."""
        self._listener = asyncio.create_task(self._listen_forever(), name="tasksync-feed")
        try:
            await asyncio.wait_for(self.connected.wait(), timeout)
        except TimeoutError:
            await self.stop()
            raise StorageError(f"the change feed could not listen on the database within "
                               f"{timeout:g} s; check the database link") from None

    async def stop(self) -> None:
        tasks = [task for task in (self._listener, *self._catching_up.values()) if task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- events -------------------------------------------------------------------------

    def local(self, events: list[ChangeEvent]) -> None:
        """Events this replica committed (on the event loop, in seq order)."""
        ready: list[ChangeEvent] = []
        for event in events:
            repository = event.repository
            last = self._published.get(repository, 0)  # unknown: created since we started
            if event.seq <= last:
                continue
            if event.seq == last + 1 and repository not in self._catching_up:
                self._published[repository] = event.seq
                ready.append(event)
            else:
                self._want(repository, event.seq)
        if ready:
            self._publish(ready)

    def _heard(self, repository: str, last_seq: int) -> None:
        if last_seq > self._published.get(repository, 0):
            self._want(repository, last_seq)

    def _want(self, repository: str, seq: int) -> None:
        self._wanted[repository] = max(self._wanted.get(repository, 0), seq)
        if repository not in self._catching_up:
            self._catching_up[repository] = asyncio.create_task(self._catch_up(repository))

    async def _catch_up(self, repository: str) -> None:
        delay = 0.05
        try:
            while self._published.get(repository, 0) < self._wanted[repository]:
                after = self._published.get(repository, 0)
                if not self._watched(repository):
                    self._published[repository] = self._wanted[repository]
                    return
                try:
                    page = await self._read(repository, after, PAGE)
                except Exception as exc:  # storage unreachable: the seq stays wanted
                    log.info("catch-up of %s failed (%s); retrying", repository, exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
                self.catch_ups += 1
                fresh = [event for event in page.events if event.seq > after]
                if not fresh:  # the log ends before what was announced: nothing to wait for
                    self._wanted[repository] = min(self._wanted[repository], page.last_seq)
                    self._published[repository] = max(after, page.last_seq)
                    continue
                self._published[repository] = fresh[-1].seq
                self._publish(fresh)
        finally:
            del self._catching_up[repository]

    # -- listening ----------------------------------------------------------------------

    async def _listen_forever(self) -> None:
        delay, first = 0.1, True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self.url, autocommit=True, connect_timeout=5,
                        application_name="tasksync-feed") as connection:
                    await self._call(connection.execute(f"LISTEN {CHANNEL}"))
                    await self._poll(connection, first)
                    first, delay = False, 0.1
                    self.connected.set()
                    while True:
                        async for notice in connection.notifies(timeout=POLL_S):
                            self._on_notice(notice.payload)
                        await self._poll(connection, first=False)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                self.connected.clear()
                log.info("change feed listener lost its database link (%s); reconnecting", exc)
            self.reconnects += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _poll(self, connection: psycopg.AsyncConnection, first: bool) -> None:
        """Every repository's last seq: where to start (first connection), else what to
        catch up to (a notification may have been missed)."""
        cursor = await self._call(connection.execute("SELECT name, last_seq FROM repositories"))
        for name, last_seq in await cursor.fetchall():
            if first:
                self._published.setdefault(name, last_seq)
            else:
                self._heard(name, last_seq)

    def _on_notice(self, payload: str) -> None:
        try:
            notice = _decode_notice(payload)
        except msgspec.DecodeError:
            log.warning("ignored a malformed change notification %r", payload[:200])
            return
        self._heard(notice.r, notice.s)

    @staticmethod
    async def _call(awaitable: Any) -> Any:
        return await asyncio.wait_for(awaitable, CALL_TIMEOUT_S)
