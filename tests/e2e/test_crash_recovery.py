"""kill -9 of a `tasksync serve` process mid-stream loses no acknowledged write.

A server takes creates and updates over HTTP, some sequential and some from a concurrent
writer that is still writing when the server is SIGKILLed. Restarted on the same store (the
SQLite file, or the PostgreSQL database), the server must hold every acknowledged write at
(at least) its acknowledged version, a change log without gaps, and every Idempotency-Key it acknowledged: a retry replays the
stored reply and creates nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support.servers import ServerProcess

REPOSITORY = "crash"
DEADLINE = 10.0
Task = dict[str, Any]


@dataclass(frozen=True)
class Write:
    """One keyed request, as sent (and as retried)."""

    key: str
    method: str
    path: str
    body: dict

    async def send(self, http: httpx.AsyncClient) -> httpx.Response:
        return await http.request(self.method, self.path, json=self.body,
                                  headers={"Idempotency-Key": self.key})


@dataclass
class WriteLog:
    """What the server acknowledged, and the one write whose fate the crash left open."""

    versions: dict[str, int] = field(default_factory=dict)  # task id -> acknowledged version
    replies: dict[str, tuple[Write, httpx.Response]] = field(default_factory=dict)  # by key
    in_flight: Write | None = None  # the write the crash cut off: applied or not, unknown

    def acknowledge(self, task: Task) -> None:
        self.versions[task["id"]] = max(task["version"], self.versions.get(task["id"], 0))


def client(process: ServerProcess, client_id: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=process.base_url, timeout=DEADLINE,
                             headers={"X-Client-ID": client_id})


async def sequential_writes(http: httpx.AsyncClient, log: WriteLog, count: int) -> None:
    """`count` creates, each followed by two acknowledged updates."""
    for n in range(count):
        response = await http.post("/api/v1/tasks", json={"repository": REPOSITORY,
                                                          "content": f"sequential {n}"})
        assert response.status_code == 201, response.text
        log.acknowledge(response.json())
        for status in ("in_progress", "completed"):
            response = await http.patch(f"/api/v1/tasks/{response.json()['id']}",
                                        json={"status": status})
            assert response.status_code == 200, response.text
            log.acknowledge(response.json())


async def write_until_cut_off(http: httpx.AsyncClient, log: WriteLog,
                              acknowledged: asyncio.Event, kill_after: int) -> None:
    """Create and update with Idempotency-Keys until the connection dies."""
    created: list[str] = []
    n = 0
    while True:
        if n % 3 == 2:
            write = Write(f"write-{n}", "PATCH", f"/api/v1/tasks/{created[n % len(created)]}",
                          {"content": f"concurrent update {n}"})
        else:
            write = Write(f"write-{n}", "POST", "/api/v1/tasks",
                          {"repository": REPOSITORY, "content": f"concurrent {n}"})
        try:
            response = await write.send(http)
        except httpx.TransportError:
            log.in_flight = write
            return
        assert response.status_code in (200, 201), response.text
        task = response.json()
        log.acknowledge(task)
        log.replies[write.key] = (write, response)
        if response.status_code == 201:
            created.append(task["id"])
        n += 1
        if n == kill_after:
            acknowledged.set()


async def change_log(http: httpx.AsyncClient) -> dict:
    response = await http.get(f"/api/v1/repositories/{REPOSITORY}/changes",
                              params={"after": 0, "limit": 10_000})
    assert response.status_code == 200, response.text
    page = response.json()
    assert not page["has_more"]
    return page


async def all_tasks(http: httpx.AsyncClient) -> list[Task]:
    tasks: list[Task] = []
    params: dict[str, Any] = {"repository": REPOSITORY, "limit": 1000, "include_deleted": "true"}
    while True:
        response = await http.get("/api/v1/tasks", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        tasks += page["tasks"]
        if page["next"] is None:
            return tasks
        params["page_token"] = page["next"]


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [25, 150])
async def test_acknowledged_writes_survive_kill_9_mid_stream(
    server_process: Callable[..., ServerProcess], kill_after: int, server_store: str,
) -> None:
    process = server_process("--rate-limit", "0", "--store", server_store)
    log = WriteLog()
    acknowledged = asyncio.Event()
    async with client(process, "sequential") as sequential, client(process, "writer") as writer:
        await sequential_writes(sequential, log, count=20)
        writing = asyncio.create_task(write_until_cut_off(writer, log, acknowledged, kill_after))
        await asyncio.wait_for(acknowledged.wait(), 30)
        await asyncio.to_thread(process.kill)  # while `writing` is still sending
        await asyncio.wait_for(writing, DEADLINE)
    assert log.in_flight is not None, "the writer was not cut off by the crash"

    restarted = server_process("--rate-limit", "0", "--store", server_store,
                               db_path=process.db_path)
    async with client(restarted, "sequential") as reader, client(restarted, "writer") as writer:
        # Every acknowledged write is there, at least at the version acknowledged.
        lost = {}
        for task_id, version in log.versions.items():
            response = await reader.get(f"/api/v1/tasks/{task_id}")
            if response.status_code != 200 or response.json()["version"] < version:
                lost[task_id] = (version, response.status_code, response.text)
        assert not lost, f"acknowledged writes lost in the crash: {lost}"

        # The change log has strictly increasing seqs from 1 with no gap, and records
        # every acknowledged version.
        page = await change_log(reader)
        seqs = [event["seq"] for event in page["events"]]
        assert seqs == list(range(1, len(seqs) + 1))
        assert page["earliest_seq"] == 1 and page["last_seq"] == len(seqs)
        logged = {(event["task_id"], event["version"]) for event in page["events"]}
        for task_id, version in log.versions.items():
            assert {(task_id, v) for v in range(1, version + 1)} <= logged, task_id

        # An acknowledged Idempotency-Key replays its stored reply and writes nothing.
        tasks_before = await all_tasks(reader)
        for key in ("write-0", "write-2", f"write-{kill_after - 1}"):
            write, first = log.replies[key]
            retried = await write.send(writer)
            assert retried.status_code == first.status_code
            assert retried.content == first.content
            assert retried.headers.get("Idempotent-Replayed") == "true"
        assert await all_tasks(reader) == tasks_before
        assert (await change_log(reader))["last_seq"] == page["last_seq"]

        # The write cut off by the crash, retried with its key, happens exactly once.
        cut_off = log.in_flight
        retried = await cut_off.send(writer)
        assert retried.status_code in (200, 201), retried.text
        again = await cut_off.send(writer)
        assert (again.status_code, again.content) == (retried.status_code, retried.content)
        applied = [event for event in (await change_log(reader))["events"]
                   if event["task"]["content"] == cut_off.body["content"]]
        assert len(applied) == 1, f"{cut_off} applied {len(applied)} times"
