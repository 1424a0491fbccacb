"""Analysis: outcome labels, the sweep summary, metrics with units, labels of final values."""

from __future__ import annotations

import pandas as pd
import pytest

from syncbench.studies.conflicts import outcome_label, short_label, skew_summary
from syncbench.studies.conflicts.analysis import (
    contest_grid,
    outcome_metrics,
    replicas_converge,
    winner_label,
)
from syncbench.studies.conflicts.phases import FinalState
from tasksync.models import SyncTaskFields

from .test_checks import outcome_row


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


def test_winner_label_names_a_manual_resolution() -> None:
    assert winner_label([], "server_wins", "local") == "-"
    assert winner_label(["server", "server"], "server_wins", "local") == "server"
    assert winner_label(["none"], "manual", "server") == "none, resolved: server"


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


def test_metrics_carry_their_units_and_count_lost_sides() -> None:
    outcomes = pd.DataFrame([outcome_row(), outcome_row(silently_lost="A,B",
                                                        outcome="silently lost")])
    trials = pd.DataFrame({"trial": [0, 1], "skew_s": [-1.0, 0.5],
                           "newer_write_lost": [True, False]})
    metrics = outcome_metrics(outcomes, trials)
    assert metrics.value("cells") == 2 and metrics.value("cells_as_expected") == 1
    assert metrics.value("silently_lost_sides") == 2
    assert metrics.value("newer_write_lost_cells") == 2
    assert metrics["lww_smallest_losing_skew_s"].unit == "s"
    assert metrics.value("lww_smallest_losing_skew_s") == 1.0
    assert metrics.value("lww_newer_write_lost_share") == 0.5


def test_the_contest_grid_shows_the_worst_outcome_per_kind_and_strategy() -> None:
    generated = {"workload": "generated", "scenario": "generated edit/edit"}
    outcomes = pd.DataFrame([outcome_row(), outcome_row(**generated),
                             outcome_row(**generated, outcome="unexpected"),
                             outcome_row(**generated, strategy="merge", outcome="merged")])
    grid = contest_grid(outcomes).set_index(["kind", "strategy"])
    assert len(grid) == 2  # the nominal row is not in it
    assert grid.loc[("edit/edit", "server_wins"), "outcome"] == "unexpected"
    assert grid.loc[("edit/edit", "server_wins"), "contests"] == 2
    assert "1 unexpected" in grid.loc[("edit/edit", "server_wins"), "label"]
    assert contest_grid(pd.DataFrame([outcome_row()])).empty


def test_a_third_replica_is_compared_on_its_own_repositories() -> None:
    task = {"content": "x", "status": "pending", "priority": "medium", "deleted": False}
    final = FinalState(server={("c-1", "t"): task, ("g-2", "t"): task},
                       holders={"A": {("c-1", "t"): task, ("g-2", "t"): task},
                                "C": {("g-2", "t"): task}},
                       scope={"A": {"c-1", "g-2"}, "C": {"g-2"}})
    assert final.partial_holders() == ["C"]
    assert replicas_converge(final).passed
    final.holders["C"][("g-2", "t")] = {**task, "content": "y"}
    result = replicas_converge(final)
    assert not result.passed and result.counterexample[0]["scope"] == "server, C"
