"""Inserts queued inside a transaction and written with one executemany per statement.

A batch of creates then costs a few statements, not a few per create. Point lookups (a
task by id, a reply by key, an applied change by key) consult the queued rows; every other
statement writes them first (the store's `_sql` calls `flush()`). Inside a savepoint
statements run at once, so a rollback to it undoes exactly them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from tasksync.models import Task
from tasksync.store.base import AppliedChange, StoredReply

R = TypeVar("R")


class DeferredInserts:
    """The queue; a store subclasses it and says how to execute statements."""

    _in_transaction = False
    _savepoints = 0

    def _execute(self, statement: str, row: tuple) -> Any:
        """Run one statement now (no flush first)."""
        raise NotImplementedError

    def _execute_many(self, statement: str, rows: list[tuple]) -> None:
        raise NotImplementedError

    def _fetch_one(self, statement: str, params: tuple) -> tuple | None:
        """One row of a point lookup, read now (no flush first: queued rows are consulted)."""
        raise NotImplementedError

    def _defer(self, statement: str, row: tuple) -> bool:
        """Queue `row` for one executemany per statement at flush(); True when queued,
        False when it was written now (outside a transaction, or inside a savepoint)."""
        if not self._in_transaction or self._savepoints:
            self._execute(statement, row)
            return False
        self._deferred.setdefault(statement, []).append(row)
        return True

    def flush(self) -> None:
        """Write the deferred inserts (in the order their statements were first used)."""
        if not self._deferred:
            return
        deferred = self._deferred
        self._forget_deferred()
        for statement, rows in deferred.items():
            if len(rows) == 1:  # between reads of a mixed batch: no executemany set-up
                self._execute(statement, rows[0])
            else:
                self._execute_many(statement, rows)

    def _forget_deferred(self) -> None:
        self._deferred: dict[str, list[tuple]] = {}  # statement -> rows, in first-use order
        self._deferred_tasks: dict[str, Task] = {}
        self._deferred_replies: dict[str, StoredReply] = {}
        self._deferred_results: dict[str, AppliedChange] = {}

    def _read_through(
        self, deferred: dict[str, R], key: str, statement: str, params: tuple,
        from_row: Callable[[tuple], R],
    ) -> R | None:
        """The value a deferred insert holds for `key`, else the row `statement` selects
        (None: neither). Reads directly: a deferred row is already held."""
        held = deferred.get(key)
        if held is not None:
            return held
        row = self._fetch_one(statement, params)
        return from_row(row) if row else None
