"""benchmarks.analysis: the synthetic run is shaped like a real one and every check passes on
it; checks give the same verdict fed the History or its frame; the figures' targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.analysis import analysis_figures, measure_size, steps
from benchmarks.synthetic_history import synthetic_run
from syncbench import checks
from syncbench.history import FAIL, INFO, OK
from syncbench.nemesis import fault_windows
from syncbench.nemesis.nemesis import PROCESS


@pytest.fixture(scope="module")
def run():
    return synthetic_run(3_000, seed=2)


def test_the_synthetic_run_has_every_kind_of_operation_and_outcome(run) -> None:
    ops = run.history.operations
    assert len(ops) >= 3_000
    assert {op.operation for op in ops} >= {"create", "update", "delete", "start", "stop"}
    assert {op.outcome for op in ops} == {OK, FAIL, INFO}
    assert len({op.client for op in ops if op.client != PROCESS}) >= 8
    retried = [op for op in ops if op.operation == "create" and op.attempts == 2]
    assert retried, "info creates are re-invoked like a retrying client"
    assert len(fault_windows(run.history)) == run.counts["faults"] > 0
    assert run.counts["deliveries"] > run.counts["events"]  # two subscribers, some twice


def test_every_step_passes_on_the_synthetic_run(run, tmp_path: Path) -> None:
    for name, step in steps(run, tmp_path).items():
        result = step()
        assert getattr(result, "passed", True), (name, result.observed)


def test_a_lost_write_in_the_synthetic_run_is_caught(run) -> None:
    victim = next(op.task_id for op in run.history if op.operation == "create"
                  and op.outcome == OK)
    final = {task_id: task for task_id, task in run.server_tasks.items() if task_id != victim}
    result = checks.no_lost_acknowledged_writes(run.history, final)
    assert not result.passed
    assert {entry["task_id"] for entry in result.counterexample} == {victim}


@pytest.mark.parametrize("check", [checks.no_lost_acknowledged_writes,
                                   checks.no_duplicates_from_retries])
def test_a_check_fed_the_frame_says_what_it_says_fed_the_history(run, check) -> None:
    duplicated = dict(run.server_tasks)
    first = next(iter(duplicated.values()))
    duplicated["copy"] = {**first, "id": "copy"}  # a duplicate for the duplicates check
    removed = {k: v for k, v in duplicated.items() if k != first["id"]}  # and a lost write
    for final in (duplicated, removed):
        from_history = check(run.history, final)
        from_frame = check(run.history.to_frame(), final)
        assert from_frame.to_dict() == from_history.to_dict()


def test_figures_compare_the_largest_size_with_the_smallest() -> None:
    small, large = measure_size(200, repeats=1), measure_size(400, repeats=1)
    figures = {figure.name: figure.summary() for figure in analysis_figures([small, large])}
    linear = figures["convergence: us/op growth x2 ops"]
    assert linear["target"] == "ratio <= 2"
    total = next(s for name, s in figures.items() if name.startswith("every check"))
    assert total["target"] == "value <= 30" and total["met"]
    assert any(name.startswith("peak RSS") for name in figures)
