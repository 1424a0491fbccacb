"""The study's checks: each passes on a good run and fails, with its counterexample, on a bad one."""

from __future__ import annotations

import time

import pandas as pd

from syncbench.studies.conflicts import (
    Side,
    expected_conflicts_reported,
    no_silently_lost_changes,
    winner_matches_strategy,
)


def outcome_row(**overrides) -> dict:
    row = {
        "scenario": "edit_edit_same_field", "strategy": "server_wins", "conflicts_reported": 1,
        "expected_conflicts": 1, "winner": "server", "expected_winner": "server",
        "final_value": "A [pending, medium]", "expected_value": "A [pending, medium]",
        "final_label": "A",
        "silently_lost": "", "newer_side": "B", "newer_kept": False, "outcome": "server won",
        "repository": "c-x", "task_id": "c-x.t", "push_op_id": 7, "op_ids": [4, 5, 6, 7],
        "workload": "nominal", "contest": None, "features": "", "push_order": "", "spec": "",
    }
    row.update(overrides)
    return row


def test_expected_conflicts_reported_passes_when_counts_match() -> None:
    assert expected_conflicts_reported(pd.DataFrame([outcome_row()])).passed


def test_expected_conflicts_reported_names_the_cell_that_reported_none() -> None:
    frame = pd.DataFrame([outcome_row(), outcome_row(strategy="merge", conflicts_reported=0)])
    result = expected_conflicts_reported(frame)
    assert not result.passed
    [entry] = result.counterexample
    assert (entry["scenario"], entry["strategy"]) == ("edit_edit_same_field", "merge")
    assert entry["push_op_id"] == 7 and entry["op_ids"] == [4, 5, 6, 7]
    assert "merge" in result.message


def test_winner_matches_strategy_passes_and_fails() -> None:
    assert winner_matches_strategy(pd.DataFrame([outcome_row()])).passed
    bad = outcome_row(winner="-", final_value="B [pending, medium]")
    result = winner_matches_strategy(pd.DataFrame([bad]))
    assert not result.passed
    assert "winner '-'" in result.counterexample[0]["violation"]
    assert "final" in result.counterexample[0]["violation"]


def side(name: str, content: str, ops: list[int], task: str = "t") -> Side:
    return Side("edit_edit_same_field", "server_wins", "r", task, name, f"r.{name}",
                {"content": content}, ops, 0.0)


def test_a_losing_side_kept_in_a_conflict_record_is_not_lost() -> None:
    sides = [side("A", "A", [1, 2]), side("B", "B", [3, 4])]
    final = {("r", "t"): {"content": "A", "status": "pending", "priority": "medium"}}
    record = {"repository": "r", "task_id": "t", "server": {"content": "A"},
              "client": {"content": "B"}}
    assert no_silently_lost_changes(sides, final, [record]).passed


def test_a_side_neither_final_nor_recorded_is_silently_lost() -> None:
    sides = [side("A", "A", [1, 2]), side("B", "B", [3, 4])]
    final = {("r", "t"): {"content": "B"}}
    result = no_silently_lost_changes(sides, final, [])
    assert not result.passed
    [entry] = result.counterexample
    assert entry["scenario"] == "edit_edit_same_field" and entry["side"] == "A"
    assert entry["op_ids"] == [1, 2] and entry["overwritten_by_op_ids"] == [3, 4]
    assert entry["lost_fields"] == {"content": "A"}


def test_a_change_kept_field_by_field_in_the_task_and_a_record_is_not_lost() -> None:
    # Offline edits under merge: the content lost to the server's (reported in the first
    # edit's conflict), the status arrived with a later edit (no conflict of its own).
    changed = Side("generated edit/edit", "merge", "r", "t", "C", "r.C",
                   {"content": "same", "status": "cancelled"}, [5], 0.0)
    final = {("r", "t"): {"content": "A1", "status": "cancelled"}}
    first_edit = {"repository": "r", "task_id": "t", "server": {"content": "A1"},
                  "client": {"content": "same", "status": "completed"}}
    assert no_silently_lost_changes([changed], final, [first_edit]).passed
    result = no_silently_lost_changes([changed], final, [])
    assert result.counterexample[0]["lost_fields"] == {"content": "same"}


def test_a_record_of_another_task_does_not_preserve_a_side() -> None:
    sides = [side("A", "A", [1])]
    record = {"repository": "r", "task_id": "other", "server": {"content": "A"},
              "client": {"content": "B"}}
    assert not no_silently_lost_changes(sides, {("r", "t"): {"content": "B"}}, [record]).passed


def test_sides_given_as_plain_dicts_are_read_too() -> None:
    sides = [side("A", "A", [1]).to_dict(), side("B", "B", [2]).to_dict()]
    result = no_silently_lost_changes(sides, {("r", "t"): {"content": "B"}}, [])
    assert [entry["side"] for entry in result.counterexample] == ["A"]


def test_the_lost_side_check_is_linear_in_the_number_of_sides() -> None:
    # 30,000 sides on 15,000 tasks, every A side lost: a per-side scan of all sides (the old
    # check) takes minutes here; indexed by task it takes well under a second or two.
    count = 15_000
    sides = [s for n in range(count) for s in (side("A", "A", [2 * n], task=f"t{n}"),
                                               side("B", "B", [2 * n + 1], task=f"t{n}"))]
    final = {("r", f"t{n}"): {"content": "B"} for n in range(count)}
    started = time.perf_counter()
    result = no_silently_lost_changes(sides, final, [])
    elapsed = time.perf_counter() - started
    assert len(result.counterexample) == count
    assert result.counterexample[-1]["overwritten_by_op_ids"] == [2 * count - 1]
    assert elapsed < 10, f"{elapsed:.1f}s for {len(sides)} sides"
