"""Kernel > Interrupt in a real Jupyter kernel: a study cell holding a running stack stops
within a second with one line on stderr (no traceback), and its server and Toxiproxy are
gone. Before, the interrupt signalled the kernel's whole process group (killing Toxiproxy
and the server under the study, which then failed blaming Toxiproxy), and an awaiting cell
took until its await ended to notice."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

from tests.support.wait import wait_until

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def kernel() -> Iterator[Any]:
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=120)
    try:
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_an_interrupted_study_cell_ends_in_one_line_and_leaves_no_process(kernel) -> None:
    manager, client = kernel
    client.execute_interactive("from syncbench import kernel\nkernel.quiet_interrupts()",
                               timeout=120)
    msg_id = client.execute(
        "import asyncio\nfrom syncbench.stack import Stack, StackConfig\n"
        "async with Stack(StackConfig()) as stack:\n"
        "    print('PIDS', stack.server.pid, stack._toxiproxy.pid, flush=True)\n"
        "    await asyncio.sleep(120)\n")
    outputs: list[tuple[str, dict]] = []

    def next_output() -> tuple[str, dict]:
        while True:
            message = client.get_iopub_msg(timeout=120)
            if message["parent_header"].get("msg_id") == msg_id:
                outputs.append((message["msg_type"], message["content"]))
                return outputs[-1]

    while not (outputs and outputs[-1][0] == "stream" and "PIDS" in outputs[-1][1]["text"]):
        next_output()
    pids = [int(word) for word in outputs[-1][1]["text"].split()[1:3]]
    assert all(alive(pid) for pid in pids)
    interrupted = time.monotonic()
    manager.interrupt_kernel()
    reply = client.get_shell_msg(timeout=60)
    took = time.monotonic() - interrupted
    while next_output() != ("status", {"execution_state": "idle"}):
        pass

    assert reply["content"]["status"] == "error" and took < 10, (reply["content"], took)
    written = [content for kind, content in outputs if kind in ("stream", "error")][1:]
    assert written == [{"name": "stderr", "text": "interrupted: what it started has stopped; "
                                                  "run the cell again to start over\n"}]
    wait_until(lambda: not any(alive(pid) for pid in pids), timeout=10,
               message="the server and Toxiproxy to be gone")
