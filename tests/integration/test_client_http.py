"""HTTPClient and BatchClient against a real tasksync server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tasksync.client import (
    Attempt,
    BatchClient,
    ClientVersionUnsupported,
    HTTPClient,
    IdConflict,
    NotFound,
    RetriesExhausted,
    RetryPolicy,
    ServiceUnavailable,
    ValidationFailed,
    VersionConflict,
)
from tasksync.models import SyncItem, SyncTaskFields
from tests.support.proxies import AnswerDroppingProxy
from tests.support.servers import ServerThread

FAST = RetryPolicy(
    max_attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=0.05, deadline=10.0
)


@pytest.fixture
async def dropping_proxy(server: ServerThread) -> AsyncIterator[AnswerDroppingProxy]:
    proxy = AnswerDroppingProxy(server.port, drops=0)
    listener = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    yield proxy
    listener.close()
    await asyncio.wait_for(listener.wait_closed(), 5)


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_task_lifecycle_round_trips_typed(server: ServerThread, transport: str) -> None:
    client = HTTPClient(server.base_url, client_id="alice", retry=FAST, transport=transport)  # type: ignore[arg-type]
    async with client:
        task = await client.create_task("repo-a", "write tests", priority="high")
        assert (task.version, task.origin, task.priority) == (1, "alice", "high")
        assert await client.get_task(task.id) == task
        updated = await client.update_task(task.id, status="completed", if_match=1)
        assert updated.version == 2 and updated.status == "completed"
        with pytest.raises(VersionConflict) as stale:
            await client.update_task(task.id, content="late", if_match=1)
        assert stale.value.current == updated
        tombstone = await client.delete_task(task.id, if_match=2)
        assert tombstone.deleted and (await client.get_task(task.id)).deleted
        page = await client.changes("repo-a", after=0)
        assert [e.type for e in page.events] == ["task_created", "task_updated", "task_deleted"]
        await client.noop()


async def test_named_errors_come_from_the_real_server(server: ServerThread) -> None:
    async with HTTPClient(server.base_url, retry=FAST) as client:
        with pytest.raises(NotFound):
            await client.get_task("nope")
        with pytest.raises(ValidationFailed) as invalid:
            await client.create_task("repo-a", "x", status="done")
        assert invalid.value.field is not None and "status" in invalid.value.field
        await client.create_task("repo-a", "x", id="fixed")
        with pytest.raises(IdConflict) as conflict:
            await client.create_task("repo-a", "y", id="fixed")
        assert conflict.value.current is not None and conflict.value.current.content == "x"
    async with HTTPClient(server.base_url, client_version="2.0.0") as old:
        with pytest.raises(ClientVersionUnsupported):
            await old.noop()


async def test_iter_tasks_walks_all_pages(server: ServerThread) -> None:
    async with HTTPClient(server.base_url) as client:
        created = [(await client.create_task("paged", f"t{i}")).id for i in range(7)]
        assert [t.id async for t in client.iter_tasks("paged", page_size=3)] == created


async def test_a_write_whose_answer_was_lost_is_applied_once(
    dropping_proxy: AnswerDroppingProxy, server: ServerThread
) -> None:
    dropping_proxy.drops = 2
    attempts: list[Attempt] = []
    async with HTTPClient(dropping_proxy.url, retry=FAST, observer=attempts.append) as client:
        task = await client.create_task("once", "only one of me")
    assert [a.outcome for a in attempts][-1] == "ok" and len(attempts) == 3
    assert len({a.idempotency_key for a in attempts}) == 1
    async with HTTPClient(server.base_url) as direct:
        assert [t.id async for t in direct.iter_tasks("once")] == [task.id]
        assert len((await direct.changes("once")).events) == 1


async def test_a_write_sent_again_with_the_callers_key_is_replayed(server: ServerThread) -> None:
    attempts: list[Attempt] = []
    async with HTTPClient(server.base_url, client_id="carol", observer=attempts.append) as client:
        first = await client.create_task("keyed", "once", idempotency_key="carol-1")
        again = await client.create_task("keyed", "once", idempotency_key="carol-1")
        edited = await client.update_task(first.id, status="completed", idempotency_key="carol-2")
        assert await client.update_task(first.id, status="completed",
                                         idempotency_key="carol-2") == edited
        assert (await client.delete_task(first.id, idempotency_key="carol-3")).deleted
    async with BatchClient(server.base_url, client_id="carol") as batch:
        items = [SyncItem(change_id="1", task_id="k1", task=SyncTaskFields(content="k"))]
        sent = await batch.batch_sync("keyed", items, idempotency_key="carol-4")
        assert await batch.batch_sync("keyed", items, idempotency_key="carol-4") == sent
    assert again == first
    assert [a.idempotency_key for a in attempts] == ["carol-1", "carol-1", "carol-2", "carol-2",
                                                     "carol-3"]
    async with HTTPClient(server.base_url) as direct:
        assert [t.id async for t in direct.iter_tasks("keyed", include_deleted=True)] == [
            first.id, "k1"]
        assert len((await direct.changes("keyed")).events) == 4


async def test_a_lost_batch_answer_is_replayed_not_reapplied(
    dropping_proxy: AnswerDroppingProxy, server: ServerThread
) -> None:
    dropping_proxy.drops = 1
    items = [
        SyncItem(change_id=f"c{i}", task_id=f"t{i}", task=SyncTaskFields(content=f"{i}"))
        for i in range(3)
    ]
    async with BatchClient(dropping_proxy.url, client_id="bob", retry=FAST) as client:
        response = await client.batch_sync("batch", items, cursor=0)
    assert [r.outcome for r in response.results] == ["created"] * 3
    assert response.cursor == 3 and len(response.changes) == 3


async def test_storage_failures_are_retried_then_reported(server: ServerThread) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as admin:
        (
            await admin.post("/api/v1/admin/faults", json={"storage_error_rate": 1.0})
        ).raise_for_status()
        attempts: list[Attempt] = []
        async with HTTPClient(server.base_url, retry=FAST, observer=attempts.append) as client:
            with pytest.raises(RetriesExhausted) as caught:
                await client.create_task("faulty", "x")
            assert isinstance(caught.value.last_error, ServiceUnavailable)
            assert len(attempts) == 4
            # the server sends Retry-After: 1; the policy caps it at max_retry_after
            assert all(a.delay_before_next == pytest.approx(0.05) for a in attempts[:-1])
            (await admin.delete("/api/v1/admin/faults")).raise_for_status()
            assert (await client.create_task("faulty", "x")).version == 1
