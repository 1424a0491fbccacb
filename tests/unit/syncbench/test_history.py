"""History: invocations, exactly one completion, fail/info classification, frames, saving."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pandas as pd
import pytest

from syncbench.history import (
    COLUMNS,
    FAIL,
    INFO,
    OK,
    PENDING,
    History,
    Operation,
    attempt_applied_nothing,
    classify_error,
    operations_of,
)
from tasksync.client.attempts import Attempt
from tasksync.client.errors import (
    CircuitOpenError,
    HTTPStatusError,
    RetriesExhausted,
    ServerUnreachable,
    TransportError,
    VersionConflict,
)
from tasksync.models import ErrorBody
from tasksync.replica.errors import NoServerConfigured, SyncError, TaskNotFound
from tasksync.replica.errors import ServerUnreachable as ReplicaUnreachable


def status_error(status: int, code: str | None) -> HTTPStatusError:
    body = ErrorBody(error=code, message="m") if code else None
    return HTTPStatusError(status, body)


def attempt(outcome: str, number: int = 1) -> Attempt:
    return Attempt(
        call_id="c",
        operation="create",
        attempt=number,
        started_at=0.0,
        ended_at=0.1,
        started_monotonic=0.0,
        ended_monotonic=0.1,
        outcome=outcome,
        status_code=None,
        delay_before_next=None,
        idempotency_key="k",
        client_id="c1",
    )


def test_invoke_then_ok_records_both_clocks_and_the_response() -> None:
    history = History()
    handle = history.invoke("c1", "create", task_id="t1", content="k1")
    assert handle.outcome == PENDING
    handle.ok(version=1, seq=7, attempts=2)
    op = history.by_id(handle.op_id)
    assert (op.outcome, op.version, op.seq, op.attempts, op.task_id) == (OK, 1, 7, 2, "t1")
    assert op.args == {"task_id": "t1", "content": "k1"}
    assert op.complete_time is not None and op.complete_time >= op.invoke_time
    assert op.latency_s is not None and op.latency_s >= 0


def test_an_operation_is_completed_exactly_once() -> None:
    handle = History().invoke("c1", "update", task_id="t1")
    handle.info("ReadTimeout")
    with pytest.raises(RuntimeError, match="already completed as info"):
        handle.ok(version=2)


def test_fail_and_info_keep_the_error_text() -> None:
    history = History()
    history.invoke("c1", "create").fail(ServerUnreachable("refused"))
    history.invoke("c1", "create").info("reset mid-response")
    first, second = history.operations
    assert (first.outcome, first.error) == (FAIL, "ServerUnreachable: refused")
    assert (second.outcome, second.error) == (INFO, "reset mid-response")


def test_op_ids_are_unique_and_in_invocation_order() -> None:
    history = History()
    ids = [history.invoke("c", "get").op_id for _ in range(5)]
    assert ids == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("exc", "verdict"),
    [
        (ServerUnreachable("connection refused"), FAIL),
        (ConnectionRefusedError(), FAIL),
        (httpx.ConnectError("refused"), FAIL),
        (CircuitOpenError(1.0), FAIL),
        (VersionConflict(412, ErrorBody(error="version_mismatch", message="m")), FAIL),
        (status_error(429, "rate_limited"), FAIL),
        (status_error(503, "circuit_open"), FAIL),
        (status_error(503, "storage_unavailable"), FAIL),
        (status_error(503, None), INFO),
        (status_error(504, "storage_timeout"), INFO),
        (status_error(502, None), INFO),
        (TransportError("ReadTimeout"), INFO),
        (httpx.ReadTimeout("slow"), INFO),
        (ConnectionResetError(), INFO),
        (TimeoutError(), INFO),
        (RetriesExhausted(1, 0.1, status_error(503, "circuit_open"), "max"), FAIL),
        (RetriesExhausted(3, 0.1, status_error(503, "circuit_open"), "max"), INFO),
        (RetriesExhausted(1, 0.1, TransportError("ReadTimeout"), "max"), INFO),
    ],
)
def test_classify_error_fails_only_what_certainly_did_not_apply(
    exc: BaseException, verdict: str
) -> None:
    assert classify_error(exc) == verdict


@pytest.mark.parametrize(
    ("exc", "verdict"),
    [
        (TaskNotFound("t-1", "repo"), FAIL),
        (NoServerConfigured(), FAIL),
        (ReplicaUnreachable("http://x", 2, "ConnectError", definitely_not_applied=True), FAIL),
        (ReplicaUnreachable("http://x", 2, "ReadTimeout"), INFO),
        (SyncError("rejected", 1, definitely_not_applied=True), FAIL),
        (SyncError("failed after a chunk applied", 1), INFO),
    ],
    ids=repr,
)
def test_classify_error_trusts_what_replica_errors_say_of_themselves(
    exc: BaseException, verdict: str
) -> None:
    assert classify_error(exc) == verdict


def test_an_exception_can_declare_itself_not_applied() -> None:
    class Rejected(Exception):
        definitely_not_applied = True

    class Unclear(ServerUnreachable):
        definitely_not_applied = False

    assert classify_error(Rejected()) == FAIL
    assert classify_error(Unclear("x")) == INFO


@pytest.mark.parametrize(
    ("outcome", "nothing"),
    [
        ("CircuitOpenError", True),
        ("ConnectError", True),
        ("404", True),
        ("429", True),
        ("503", True),
        ("504", False),
        ("502", False),
        ("ReadTimeout", False),
        ("ok", False),
    ],
)
def test_attempt_applied_nothing(outcome: str, nothing: bool) -> None:
    assert attempt_applied_nothing(outcome) is nothing


async def test_record_marks_ok_with_noted_response_values() -> None:
    history = History()
    async with history.record("c1", "create", task_id="t1") as op:
        op.note(version=1, seq=3)
    only = history.operations[0]
    assert (only.outcome, only.version, only.seq, only.task_id) == (OK, 1, 3, "t1")


async def test_record_keeps_a_completion_the_block_made_itself() -> None:
    history = History()
    async with history.record("c1", "update", task_id="t1") as op:
        op.info("decided by the workload")
    assert history.operations[0].outcome == INFO


async def test_record_marks_refused_connection_fail_and_swallows_it() -> None:
    history = History()
    async with history.record("c1", "create", task_id="t1"):
        raise ServerUnreachable("ConnectError: connection refused")
    op = history.operations[0]
    assert op.outcome == FAIL
    assert "connection refused" in op.error


async def test_record_marks_timeout_info() -> None:
    history = History()
    async with history.record("c1", "update", task_id="t1"):
        raise TransportError("ReadTimeout on PATCH")
    assert history.operations[0].outcome == INFO


async def test_record_uses_a_custom_classifier() -> None:
    history = History(classify=lambda exc: FAIL)
    async with history.record("c1", "update"):
        raise TransportError("ReadTimeout")
    assert history.operations[0].outcome == FAIL


async def test_record_counts_attempts_seen_by_the_observer() -> None:
    history = History()
    async with history.record("c1", "create", task_id="t1"):
        history.observe_attempt(attempt("ReadTimeout", 1))
        history.observe_attempt(attempt("ok", 2))
    assert history.operations[0].attempts == 2


async def test_record_fails_retries_exhausted_only_when_every_attempt_applied_nothing() -> None:
    history = History()
    async with history.record("c1", "create", task_id="all-503"):
        for number in (1, 2, 3):
            history.observe_attempt(attempt("503", number))
        raise RetriesExhausted(3, 1.0, status_error(503, "circuit_open"), "max_attempts")
    async with history.record("c1", "create", task_id="timeout-then-503"):
        history.observe_attempt(attempt("ReadTimeout", 1))
        history.observe_attempt(attempt("503", 2))
        raise RetriesExhausted(2, 1.0, status_error(503, "circuit_open"), "max_attempts")
    async with history.record("c1", "create", task_id="unobserved"):
        raise RetriesExhausted(3, 1.0, status_error(503, "circuit_open"), "max_attempts")
    outcomes = {op.task_id: (op.outcome, op.attempts) for op in history}
    assert outcomes == {
        "all-503": (FAIL, 3),
        "timeout-then-503": (INFO, 2),
        "unobserved": (INFO, 3),
    }


async def test_observer_outside_record_is_ignored() -> None:
    history = History()
    history.observe_attempt(attempt("ok"))
    assert len(history) == 0


async def test_record_reraises_a_bug_after_marking_it_info() -> None:
    history = History()
    with pytest.raises(ZeroDivisionError):
        async with history.record("c1", "get", task_id="t1"):
            _ = 1 / 0
    op = history.operations[0]
    assert op.outcome == INFO
    assert op.error.startswith("ZeroDivisionError")


async def test_record_marks_cancelled_operation_info_and_propagates() -> None:
    history = History()
    started = asyncio.Event()

    async def slow() -> None:
        async with history.record("c1", "sync"):
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(slow())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (history.operations[0].outcome, history.operations[0].error) == (INFO, "cancelled")


async def test_many_tasks_record_concurrently_with_their_own_attempts() -> None:
    history = History()

    async def worker(n: int) -> None:
        async with history.record(f"c{n % 7}", "create", task_id=f"t{n}") as op:
            for number in range(1, n % 3 + 2):
                history.observe_attempt(attempt("ok", number))
                await asyncio.sleep(0)
            op.note(version=1)

    await asyncio.gather(*(worker(n) for n in range(300)))
    ops = history.operations
    assert len({op.op_id for op in ops}) == 300
    assert all(op.outcome == OK for op in ops)
    assert all(op.attempts == int(op.task_id[1:]) % 3 + 1 for op in ops if op.task_id)


def test_complete_pending_marks_the_rest_info() -> None:
    history = History()
    history.invoke("c1", "create").ok()
    history.invoke("c1", "create")
    assert history.complete_pending() == 1
    assert [op.outcome for op in history] == [OK, INFO]


def sample_history() -> History:
    history = History()
    history.invoke("c1", "create", task_id="t1", content='a, "quoted"\nline').ok(
        version=1, seq=1, attempts=1
    )
    history.invoke("c2", "update", task_id="t1", priority="high").info("ReadTimeout")
    history.invoke("c2", "get", task_id="t9").fail("NotFound: 404")
    history.invoke("c3", "subscribe", repositories=["r1", "r2"])
    return history


def test_to_frame_has_one_row_per_operation_and_every_column() -> None:
    frame = sample_history().to_frame()
    assert len(frame) == 4
    assert list(frame.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert {"arg_task_id", "arg_content", "arg_priority", "arg_repositories"} <= set(frame.columns)
    assert frame["outcome"].tolist() == [OK, INFO, FAIL, PENDING]
    assert frame["version"].tolist()[:2] == [1, pd.NA]
    assert frame["latency_s"].notna().tolist() == [True, True, True, False]
    assert frame.loc[0, "args"]["content"].startswith("a, ")


@pytest.mark.parametrize("name", ["history.csv", "history.jsonl"])
def test_save_and_load_round_trip(tmp_path: Path, name: str) -> None:
    history = sample_history()
    loaded = History.load(history.save(tmp_path / name))
    assert [op.to_dict() for op in loaded] == [op.to_dict() for op in history]


def test_loaded_history_continues_numbering() -> None:
    history = History(operations=sample_history().operations)
    assert history.invoke("c1", "get").op_id == 5


def test_from_frame_round_trip_and_operations_of_accepts_all_forms() -> None:
    history = sample_history()
    expected = [op.to_dict() for op in history]
    assert [op.to_dict() for op in History.from_frame(history.to_frame())] == expected
    assert [op.to_dict() for op in operations_of(history.to_frame())] == expected
    assert [op.to_dict() for op in operations_of(list(history))] == expected
    assert isinstance(operations_of(history)[0], Operation)


def test_by_id_finds_operations_recorded_before_and_after_a_look_up() -> None:
    history = History(operations=sample_history().operations)
    assert history.by_id(2).operation == "update"
    later = history.invoke("c9", "get")
    assert history.by_id(later.op_id) is later.op
    with pytest.raises(KeyError):
        history.by_id(99)


async def test_record_gives_the_handle_its_operation_and_completes_it_on_exit() -> None:
    history = History()
    async with history.record("c1", "get", task_id="t1") as op:
        assert op.op is history.by_id(op.op_id)
        assert (op.outcome, op.completed) == (PENDING, False)
    assert (op.outcome, op.completed) == (OK, True)
    with pytest.raises(RuntimeError, match="exactly one completion"):
        op.ok()


def test_load_keeps_text_that_looks_like_numbers_and_reads_hand_written_lines(
        tmp_path: Path) -> None:
    history = History()
    history.invoke("007", "create", task_id="0012", content="NaN").ok(version=1)
    loaded = History.load(history.save(tmp_path / "h.csv")).operations[0]
    assert (loaded.client, loaded.task_id, loaded.args) == ("007", "0012",
                                                            {"task_id": "0012", "content": "NaN"})
    hand = tmp_path / "hand.jsonl"
    hand.write_text('{"op_id": "3", "client": "c", "operation": "get", "invoke_time": 1,'
                    ' "invoke_monotonic": 2, "outcome": "ok"}\n')
    only = History.load(hand).operations[0]
    assert (only.op_id, only.args, only.outcome, only.invoke_time) == (3, {}, OK, 1.0)


@pytest.mark.parametrize("form", ["history", "frame", "list"])
def test_operations_of_keeps_only_the_named_operations_and_outcome(form: str) -> None:
    history = sample_history()
    source = {"history": history, "frame": history.to_frame(), "list": list(history)}[form]
    assert [op.op_id for op in operations_of(source, only={"create", "update"})] == [1, 2]
    assert [op.op_id for op in operations_of(source, outcome=INFO)] == [2]
    assert [op.op_id for op in operations_of(source, only={"get"}, outcome=OK)] == []


def test_operations_another_process_recorded_merge_in_on_our_clock_with_their_latency() -> None:
    # another process (a Ray actor) whose wall clock is 2.5 s ahead of ours recorded two ops
    theirs = History()
    first = theirs.invoke("w0", "create", phase="creation")
    first.ok(version=1)
    theirs.invoke("w1", "noop").info("timed out")
    ours = History()
    mine = ours.invoke("c0", "noop")
    mine.ok()
    later = ours.invoke("c0", "noop")  # invoked after theirs (their times moved back 2.5 s)
    rows = [op.to_dict() for op in theirs]
    merged = ours.merge(rows, offset_s=2.5, group="actor-0")
    assert [op.op_id for op in merged] == [3, 4], "new ids after ours"
    for row, op in zip(rows, merged, strict=True):
        assert op.invoke_time == pytest.approx(row["invoke_time"] - 2.5)
        assert op.latency_s == pytest.approx(row["latency_s"])
        assert op.args["group"] == "actor-0" and op.outcome == row["outcome"]
    assert ours.by_id(3).version == 1 and ours.by_id(2) is later.op
    assert len(ours) == 4
    invoked = [op.invoke_monotonic for op in ours.operations]
    assert invoked == sorted(invoked), "in invocation order again"
    assert rows[0]["op_id"] == 1, "the rows given are not changed"
