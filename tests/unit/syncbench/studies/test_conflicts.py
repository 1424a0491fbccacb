"""The conflicts study's pure parts: parameters, workload, the batch model, checks, charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import plotly.graph_objects as go
import pytest

from syncbench.studies.conflicts import (
    SCENARIOS,
    ConflictParams,
    ModelItem,
    Side,
    expected_batch,
    expected_conflicts_reported,
    no_silently_lost_changes,
    outcome_label,
    plan_workload,
    short_label,
    skew_summary,
    three_way_merge,
    winner_matches_strategy,
)
from syncbench.studies.conflicts_charts import lww_skew_chart, outcome_heatmap
from tasksync.models import STRATEGIES, SyncTaskFields

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BASE = SyncTaskFields(content="base")
A = SyncTaskFields(content="A")
B = SyncTaskFields(content="B")


# -- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "named"), [
    ({"scenarios": ("edit_edit_same_field", "nope")}, "scenarios"),
    ({"scenarios": ()}, "scenarios"),
    ({"scenarios": "edit_delete"}, "scenarios"),
    ({"strategies": ("server_wins", "server_wins")}, "strategies"),
    ({"strategies": ("first_wins",)}, "strategies"),
    ({"skew_minutes": 0}, "skew_minutes"),
    ({"offline_edits": 0}, "offline_edits"),
    ({"manual_keep": "both"}, "manual_keep"),
    ({"skew_sweep_s": (0.0, 7200.0)}, "skew_sweep_s"),
    ({"skew_trials": -1}, "skew_trials"),
    ({"min_gap_s": 2.0, "max_gap_s": 1.0}, "max_gap_s"),
    ({"concurrency": 0}, "concurrency"),
    ({"seeded_bug": "typo"}, "seeded_bug"),
    ({"seed": "1"}, "seed"),
])
def test_a_bad_parameter_raises_value_error_naming_it(overrides: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        ConflictParams(**overrides)


def test_lists_from_a_notebook_become_tuples() -> None:
    params = ConflictParams(scenarios=["edit_delete"], strategies=["merge"], skew_sweep_s=[1])
    assert params.scenarios == ("edit_delete",)
    assert params.strategies == ("merge",)
    assert params.skew_sweep_s == (1.0,)


def test_defaults_cover_every_scenario_and_strategy() -> None:
    params = ConflictParams()
    assert params.scenarios == SCENARIOS and params.strategies == STRATEGIES
    assert "plan_two_updates_then_batch" in SCENARIOS


# -- workload ---------------------------------------------------------------------------------


def test_the_workload_is_a_function_of_the_seed() -> None:
    params = ConflictParams(seed=5, skew_trials=2)
    assert plan_workload(params) == plan_workload(ConflictParams(seed=5, skew_trials=2))
    other = plan_workload(ConflictParams(seed=6, skew_trials=2))
    assert [c.token for c in other.cells] != [c.token for c in plan_workload(params).cells]
    assert [t.gap_s for t in other.trials] != [t.gap_s for t in plan_workload(params).trials]


def test_every_cell_and_trial_gets_its_own_repository_and_task() -> None:
    params = ConflictParams(skew_trials=3, min_gap_s=0.1, max_gap_s=0.2)
    workload = plan_workload(params)
    assert len(workload.cells) == len(SCENARIOS) * len(STRATEGIES)
    assert len(workload.trials) == len(params.skew_sweep_s) * 2 * 3
    repositories = [c.repository for c in workload.cells] + [t.repository for t in workload.trials]
    task_ids = [c.task_id for c in workload.cells] + [t.task_id for t in workload.trials]
    assert len(set(repositories)) == len(repositories)
    assert len(set(task_ids)) == len(task_ids)
    assert all(0.1 <= t.gap_s <= 0.2 for t in workload.trials)


def test_skew_trials_zero_skips_the_sweep() -> None:
    assert plan_workload(ConflictParams(skew_trials=0)).trials == ()


# -- the batch model --------------------------------------------------------------------------


def item(fields: SyncTaskFields, base: SyncTaskFields | None = BASE, at: datetime = T0) -> ModelItem:
    return ModelItem(fields, base, at)


@pytest.mark.parametrize(("strategy", "final", "winner"), [
    ("server_wins", A, "server"),
    ("client_wins", B, "client"),
    ("merge", A, "merged"),  # both changed content: the server's value, listed as contested
    ("manual", A, "none"),
])
def test_edit_edit_same_field_resolves_by_strategy(strategy: str, final, winner: str) -> None:
    expectation = expected_batch(strategy, A, T0, [item(B)], T0)
    assert expectation.final == final
    assert expectation.winners == (winner,)


def test_last_write_wins_follows_the_clocks_ties_to_the_server() -> None:
    later, earlier = T0 + timedelta(seconds=1), T0 - timedelta(seconds=1)
    assert expected_batch("last_write_wins", A, T0, [item(B, at=later)], T0).final == B
    assert expected_batch("last_write_wins", A, T0, [item(B, at=earlier)], T0).final == A
    assert expected_batch("last_write_wins", A, T0, [item(B, at=T0)], T0).winners == ("server",)


def test_merge_takes_each_side_field_changed_alone() -> None:
    server = SyncTaskFields(content="A")
    client = SyncTaskFields(content="base", priority="high")
    expectation = expected_batch("merge", server, T0, [item(client)], T0)
    assert expectation.final == SyncTaskFields(content="A", priority="high")
    assert expectation.winners == ("merged",)


def test_merge_without_a_base_keeps_the_server() -> None:
    assert expected_batch("merge", A, T0, [item(B, base=None)], T0).winners == ("server",)


def test_equal_fields_and_new_tasks_are_not_conflicts() -> None:
    deleted = SyncTaskFields(content="base", deleted=True)
    assert expected_batch("server_wins", deleted, T0, [item(deleted)], T0).conflicts == 0
    created = expected_batch("server_wins", None, None, [item(B, base=None)], T0)
    assert created.final == B and created.conflicts == 0


def test_queued_changes_after_the_clients_own_write_build_on_it() -> None:
    first = SyncTaskFields(content="base", status="in_progress")
    items = [item(first), item(SyncTaskFields(content="base", status="completed"), base=first)]
    expectation = expected_batch("client_wins", A, T0, items, T0)
    assert expectation.winners == ("client",), "only the first change meets another writer"
    assert expectation.final == items[-1].fields


def test_a_queued_change_is_replayed_onto_the_merge_of_the_first() -> None:
    first = SyncTaskFields(content="base", status="in_progress")
    items = [item(first), item(SyncTaskFields(content="base", status="completed"), base=first)]
    expectation = expected_batch("merge", A, T0, items, T0)
    assert expectation.winners == ("merged",)
    assert expectation.final == SyncTaskFields(content="A", status="completed")


def test_three_way_merge_field_by_field() -> None:
    base = SyncTaskFields(content="x", status="pending", priority="medium")
    server = SyncTaskFields(content="s", status="pending", priority="low")
    client = SyncTaskFields(content="c", status="completed", priority="medium")
    assert three_way_merge(base, server, client) == SyncTaskFields(
        content="s", status="completed", priority="low")


# -- the study's checks -----------------------------------------------------------------------


def outcome_row(**overrides) -> dict:
    row = {
        "scenario": "edit_edit_same_field", "strategy": "server_wins", "conflicts_reported": 1,
        "expected_conflicts": 1, "winner": "server", "expected_winner": "server",
        "final_value": "A [pending, medium]", "expected_value": "A [pending, medium]",
        "final_label": "A",
        "silently_lost": "", "newer_side": "B", "newer_kept": False, "outcome": "server won",
        "repository": "c-x", "task_id": "c-x.t", "push_op_id": 7, "op_ids": [4, 5, 6, 7],
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


def side(name: str, content: str, ops: list[int]) -> Side:
    return Side("edit_edit_same_field", "server_wins", "r", "t", name, f"r.{name}",
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


def test_a_record_of_another_task_does_not_preserve_a_side() -> None:
    sides = [side("A", "A", [1])]
    record = {"repository": "r", "task_id": "other", "server": {"content": "A"},
              "client": {"content": "B"}}
    assert not no_silently_lost_changes(sides, {("r", "t"): {"content": "B"}}, [record]).passed


@pytest.mark.parametrize(("overrides", "label"), [
    ({}, "server won"),
    ({"silently_lost": "A"}, "silently lost"),
    ({"conflicts_reported": 0}, "unexpected"),
    ({"conflicts_reported": 0, "expected_conflicts": 0, "winner": "-", "expected_winner": "-"},
     "no conflict"),
    ({"winner": "none, resolved: local", "expected_winner": "none, resolved: local"},
     "manual, resolved"),
])
def test_outcome_label(overrides: dict, label: str) -> None:
    assert outcome_label(outcome_row(**overrides)) == label


def test_short_label_drops_the_token_and_default_fields() -> None:
    assert short_label(SyncTaskFields(content="A3 3f9c0a", status="completed", priority="high"),
                       "3f9c0a") == "A3, completed, high"
    assert short_label(SyncTaskFields(content="base x", deleted=True), "x") == "base, deleted"
    assert short_label(None) == "(absent)"


def test_skew_summary_is_the_share_of_trials_that_lost_the_newer_write() -> None:
    trials = pd.DataFrame({
        "trial": [0, 1, 2], "skew_s": [1.0, 1.0, 0.0],
        "ordering": ["skewed_first"] * 3, "newer_write_lost": [True, False, False],
    })
    summary = skew_summary(trials).set_index("skew_s")
    assert summary.loc[1.0, "newer_write_lost_share"] == 0.5
    assert summary.loc[1.0, "trials"] == 2
    assert summary.loc[0.0, "newer_write_lost_share"] == 0.0


# -- charts -----------------------------------------------------------------------------------


def test_outcome_heatmap_draws_one_cell_per_scenario_and_strategy() -> None:
    frame = pd.DataFrame([outcome_row(), outcome_row(strategy="merge", outcome="merged"),
                          outcome_row(scenario="edit_delete", outcome="silently lost"),
                          outcome_row(scenario="edit_delete", strategy="merge",
                                      outcome="unexpected")])
    fig = outcome_heatmap(frame)
    assert isinstance(fig, go.Figure)
    assert fig.data[0].z.shape == (2, 2)
    assert "silently lost" in fig.data[0].text[1][0]


def test_lww_skew_chart_draws_one_line_per_ordering() -> None:
    frame = pd.DataFrame({"skew_s": [0.0, 1.0, 0.0, 1.0],
                          "ordering": ["skewed_first", "skewed_first", "skewed_last", "skewed_last"],
                          "newer_write_lost_share": [0.0, 1.0, 0.0, 0.0]})
    assert len(lww_skew_chart(frame).data) == 2


def test_charts_name_missing_columns() -> None:
    with pytest.raises(ValueError, match="outcome"):
        outcome_heatmap(pd.DataFrame({"scenario": [], "strategy": []}))
    with pytest.raises(ValueError, match="ordering"):
        lww_skew_chart(pd.DataFrame({"skew_s": [], "newer_write_lost_share": []}))
