"""Fixtures of the replica unit tests: an in-memory stand-in for the server's batch sync.

It follows PROTOCOL.md's "Batch sync" rules for server_wins, client_wins and manual, records
every request, and can fail chosen calls the way the real client does when the network is
down. Tests against the real server live in tests/integration/test_cli_sync.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import pytest

from tasksync.client import ServerUnreachable as ClientUnreachable
from tasksync.models import (
    ChangeEvent,
    Conflict,
    ItemResult,
    SyncItem,
    SyncResponse,
    Task,
    task_fields,
)

NOW = "2026-01-01T00:00:00.000000Z"


class FakeBatchServer:
    """Implements `batch_sync` like BatchClient + server, in memory."""

    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}
        self.log: list[ChangeEvent] = []
        self.applied: dict[str, ItemResult] = {}
        self.requests: list[dict] = []
        self.fail_calls: set[int] = set()  # 1-based numbers of calls that cannot connect
        self.drop_results_after: int | None = None  # answer only the first N results
        self.conflict_ids = 0

    @property
    def calls(self) -> int:
        return len(self.requests)

    def write(self, task_id: str, content: str, origin: str = "other", **fields) -> Task:
        """A write by another client, straight into the server."""
        current = self.tasks.get(task_id)
        task = Task(
            id=task_id, repository="default", content=content,
            status=fields.get("status", current.status if current else "pending"),
            priority=fields.get("priority", current.priority if current else "medium"),
            deleted=fields.get("deleted", False),
            version=(current.version + 1) if current else 1,
            created_at=NOW, updated_at=NOW, origin=origin,
        )
        self._store(task, "task_updated" if current else "task_created")
        return task

    def _store(self, task: Task, event_type: str) -> None:
        self.tasks[task.id] = task
        self.log.append(ChangeEvent(
            repository=task.repository, seq=len(self.log) + 1, type=event_type,
            task_id=task.id, version=task.version, task=task, origin=task.origin,
            timestamp=NOW,
        ))

    async def batch_sync(
        self,
        repository: str,
        items: Sequence[SyncItem],
        cursor: int = 0,
        strategy: str = "server_wins",
        client_id: str | None = None,
        *,
        pull_limit: int = 10_000,
    ) -> SyncResponse:
        self.requests.append({
            "items": [msgspec.to_builtins(item) for item in items], "cursor": cursor,
            "strategy": strategy, "client_id": client_id, "pull_limit": pull_limit,
        })
        if self.calls in self.fail_calls:
            raise ClientUnreachable("ConnectError: connection refused")
        results, conflicts = [], []
        for item in items:
            result, conflict = self._apply(repository, item, strategy, client_id or "")
            results.append(result)
            if conflict is not None:
                conflicts.append(conflict)
        if self.drop_results_after is not None:
            results = results[: self.drop_results_after]
        pulled = [event for event in self.log if event.seq > cursor][:pull_limit]
        last = self.log[-1].seq if self.log else 0
        new_cursor = pulled[-1].seq if pulled else cursor
        return SyncResponse(
            repository=repository, results=results, conflicts=conflicts, changes=pulled,
            cursor=new_cursor, has_more=pull_limit > 0 and new_cursor < last,
        )

    def _apply(
        self, repository: str, item: SyncItem, strategy: str, origin: str
    ) -> tuple[ItemResult, Conflict | None]:
        if item.change_id in self.applied:
            return msgspec.structs.replace(self.applied[item.change_id], replayed=True), None
        server = self.tasks.get(item.task_id)
        conflict = None
        if server is None:
            task = Task(
                id=item.task_id, repository=repository, content=item.task.content,
                status=item.task.status, priority=item.task.priority, deleted=item.task.deleted,
                version=1, created_at=NOW, updated_at=NOW, origin=origin,
            )
            self._store(task, "task_created")
            outcome, result_task = "created", task
        elif task_fields(server) == item.task:
            outcome, result_task = "unchanged", server
        elif server.version <= item.base_version or all(
            event.origin == origin
            for event in self.log
            if event.task_id == server.id and event.version > item.base_version
        ):
            result_task = self._replace(server, item, origin)
            outcome = "updated"
        else:
            winner = {"client_wins": "client", "manual": "none"}.get(strategy, "server")
            result_task = self._replace(server, item, origin) if winner == "client" else server
            self.conflict_ids += 1
            conflict = Conflict(
                conflict_id=self.conflict_ids, task_id=server.id, repository=repository,
                change_id=item.change_id, strategy=strategy, winner=winner,
                base_version=item.base_version, server=server, client=item.task,
                client_updated_at=item.updated_at, resolved=result_task,
            )
            outcome = "conflict"
        result = ItemResult(
            change_id=item.change_id, task_id=item.task_id, outcome=outcome, task=result_task
        )
        self.applied[item.change_id] = result
        return result, conflict

    def _replace(self, server: Task, item: SyncItem, origin: str) -> Task:
        task = msgspec.structs.replace(
            server, content=item.task.content, status=item.task.status,
            priority=item.task.priority, deleted=item.task.deleted, version=server.version + 1,
            origin=origin,
        )
        self._store(task, "task_deleted" if task.deleted else "task_updated")
        return task


@pytest.fixture
def server() -> FakeBatchServer:
    return FakeBatchServer()
