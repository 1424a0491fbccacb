"""Breaking off a PostgreSQL call that waits on a link that answers nothing.

A blackholed link (a proxy that drops data but keeps the connection) leaves libpq waiting
forever: no TCP timeout fires, the peer acknowledges. The watchdog shuts the waiting
connection's socket down from its own thread once a call has waited `timeout` seconds;
the waiting thread then wakes with an error, and the pool replaces the connection.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


class Watchdog:
    """Breaks off a database call that has been waiting longer than `timeout`: shutting
    its socket down wakes the waiting thread with an error (the link is then useless)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._busy: tuple[psycopg.Connection, float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="tasksync-pg-watchdog",
                                        daemon=True)
        self._thread.start()

    @contextmanager
    def watching(self, connection: psycopg.Connection) -> Iterator[None]:
        self._busy = (connection, time.monotonic())
        try:
            yield
        finally:
            self._busy = None

    def _watch(self) -> None:
        while not self._stop.wait(min(0.5, self.timeout / 4)):
            busy = self._busy
            if busy is not None and time.monotonic() - busy[1] > self.timeout:
                _shut_down(busy[0])
                self._busy = None

    def close(self) -> None:
        self._stop.set()


def _shut_down(connection: psycopg.Connection) -> None:
    try:
        fd = connection.pgconn.socket
        with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)
    except (OSError, psycopg.Error):
        pass  # already closed


__all__ = ["Watchdog"]
