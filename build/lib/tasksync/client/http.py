"""HTTPClient: the task routes of the tasksync API, typed, retried, idempotent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

from tasksync.client.base import BaseClient
from tasksync.models import ChangePage, Task, TaskPage


def _segment(value: str) -> str:
    """`value` escaped as one URL path segment."""
    return quote(value, safe="")


def _given(**fields: object) -> dict[str, object]:
    """The fields that were given: a TaskCreate/TaskUpdate body without the nulls."""
    return {name: value for name, value in fields.items() if value is not None}


def _if_match(version: int | None) -> dict[str, str] | None:
    """The If-Match header for `version`, or no header."""
    return None if version is None else {"If-Match": str(version)}


class HTTPClient(BaseClient):
    """An async client for the task routes (create, read, list, update, delete, changes).

    Every call is retried per `retry` (RetryPolicy); every write carries one Idempotency-Key
    reused by all its attempts. Errors are the named exceptions of tasksync.client.errors.

        async with HTTPClient("http://127.0.0.1:8000", client_id="replica-1") as client:
            task = await client.create_task("repo-a", "write the report")
    """

    async def create_task(
        self,
        repository: str,
        content: str,
        *,
        id: str | None = None,
        status: str = "pending",
        priority: str = "medium",
        idempotency_key: str | None = None,
    ) -> Task:
        """The created task (or the stored one when `id` exists with identical fields).

        `idempotency_key` (on every write): the key to send instead of a fresh one, so that
        the caller can retry the very same write later (the server replays its reply).
        """
        body = _given(
            repository=repository, content=content, id=id, status=status, priority=priority
        )
        response = await self._send("create_task", "POST", "/tasks", body=body, write=True,
                                   idempotency_key=idempotency_key)
        return self._decode(response, Task)

    async def get_task(self, task_id: str) -> Task:
        """The task with this id (a tombstone has `deleted=True`); raises NotFound."""
        response = await self._send("get_task", "GET", f"/tasks/{_segment(task_id)}")
        return self._decode(response, Task)

    async def list_tasks(
        self,
        repository: str,
        *,
        limit: int = 100,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> TaskPage:
        """One page of the repository's tasks, in creation order; `page.next` continues."""
        params: dict[str, str | int] = {
            "repository": repository,
            "limit": limit,
            "include_deleted": "true" if include_deleted else "false",
        }
        if page_token is not None:
            params["page_token"] = page_token
        response = await self._send("list_tasks", "GET", "/tasks", params=params)
        return self._decode(response, TaskPage)

    async def iter_pages(
        self, repository: str, *, page_size: int = 100, include_deleted: bool = False
    ) -> AsyncIterator[TaskPage]:
        """Every page of the repository's tasks, fetched one after another."""
        token: str | None = None
        while True:
            page = await self.list_tasks(
                repository, limit=page_size, page_token=token, include_deleted=include_deleted
            )
            yield page
            if not page.next:
                return
            token = page.next

    async def iter_tasks(
        self, repository: str, *, page_size: int = 100, include_deleted: bool = False
    ) -> AsyncIterator[Task]:
        """Every task of the repository across all pages, in creation order."""
        async for page in self.iter_pages(
            repository, page_size=page_size, include_deleted=include_deleted
        ):
            for task in page.tasks:
                yield task

    async def update_task(
        self,
        task_id: str,
        *,
        content: str | None = None,
        status: str | None = None,
        priority: str | None = None,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> Task:
        """The task after the edit; only the given fields change.

        With `if_match` the edit applies only if the stored version still equals it;
        otherwise VersionConflict carries the stored task in `.current`.
        """
        body = _given(content=content, status=status, priority=priority)
        response = await self._send(
            "update_task",
            "PATCH",
            f"/tasks/{_segment(task_id)}",
            body=body,
            headers=_if_match(if_match),
            write=True,
            idempotency_key=idempotency_key,
        )
        return self._decode(response, Task)

    async def delete_task(
        self, task_id: str, *, if_match: int | None = None, idempotency_key: str | None = None
    ) -> Task:
        """The tombstone of the deleted task (deleting a tombstone returns it unchanged)."""
        response = await self._send(
            "delete_task",
            "DELETE",
            f"/tasks/{_segment(task_id)}",
            headers=_if_match(if_match),
            write=True,
            idempotency_key=idempotency_key,
        )
        return self._decode(response, Task)

    async def changes(self, repository: str, after: int = 0, limit: int = 1000) -> ChangePage:
        """The repository's change events with seq > `after`, ascending, at most `limit`."""
        response = await self._send(
            "changes",
            "GET",
            f"/repositories/{_segment(repository)}/changes",
            params={"after": after, "limit": limit},
        )
        return self._decode(response, ChangePage)

    async def noop(self) -> None:
        """Nothing: one round trip through all server middleware, as a benchmark baseline."""
        await self._send("noop", "POST", "/noop")
