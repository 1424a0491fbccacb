"""The closed loop: W workers share N operations, each recorded; deadlines and timed stops."""

from __future__ import annotations

import asyncio
import os
import time

from syncbench.history import History, OpHandle
from syncbench.studies.performance.loadgen import run_closed_loop


class Client:
    def __init__(self, name: str) -> None:
        self.client_id = name


async def test_workers_share_the_operations_and_each_is_recorded() -> None:
    history = History()
    seen: list[tuple[str, int]] = []

    async def operation(client: Client, _worker: int, n: int, op: OpHandle) -> None:
        await asyncio.sleep(0)
        seen.append((client.client_id, n))
        op.note(task_id=f"t{n}")

    phase = await run_closed_loop(history, [Client("a"), Client("b")], 10, operation,
                                  name="create", labels={"phase": "x"}, deadline_s=10,
                                  server_pid=os.getpid())
    assert sorted(n for _, n in seen) == list(range(10))
    assert {client for client, _ in seen} == {"a", "b"}
    assert phase.requested == phase.ok == 10 and phase.failed == 0 and not phase.timed_out
    assert phase.throughput_per_s > 0 and phase.row()["ok_count"] == 10
    ops = history.to_frame()
    assert len(ops) == 10 and set(ops["arg_phase"]) == {"x"} and (ops["outcome"] == "ok").all()


async def test_a_deadline_ends_the_phase_and_records_what_was_running_as_info() -> None:
    history = History()
    never = asyncio.Event()

    async def stuck(_client: Client, _worker: int, _n: int, _op: OpHandle) -> None:
        await never.wait()

    phase = await run_closed_loop(history, [Client("a")], 3, stuck, name="create",
                                  deadline_s=0.05)
    assert phase.timed_out and phase.ok == 0 and phase.failed == 3
    assert [op.outcome for op in history.operations] == ["info"]


async def test_stop_at_ends_a_timed_phase_cleanly() -> None:
    history = History()

    async def quick(_client: Client, _worker: int, _n: int, _op: OpHandle) -> None:
        await asyncio.sleep(0.001)

    phase = await run_closed_loop(history, [Client("a")], 10_000, quick, name="create",
                                  deadline_s=10, stop_at=time.monotonic() + 0.05)
    assert not phase.timed_out and 0 < phase.requested < 10_000
    assert phase.requested == phase.ok == len(history)
