"""The conflicts study end to end on a real Stack (tasksync server + Toxiproxy)."""

from __future__ import annotations

from syncbench.studies.conflicts import SCENARIOS, ConflictParams, run
from tasksync.models import STRATEGIES


async def test_every_scenario_under_every_strategy_passes_its_checks(tmp_path) -> None:
    params = ConflictParams(seed=3, offline_edits=2, skew_sweep_s=(-1.0, 1.0), skew_trials=1,
                            min_gap_s=0.05, max_gap_s=0.2)
    result = await run(params)

    assert result.passed, result.checks_frame().to_string()
    outcomes = result.outcomes.set_index(["scenario", "strategy"])
    assert len(outcomes) == len(SCENARIOS) * len(STRATEGIES)
    # The original plan's case: one conflict, resolved server_wins, B's update stays.
    plan = outcomes.loc[("plan_two_updates_then_batch", "server_wins")]
    assert plan["conflicts_reported"] == 1 and plan["winner"] == "server"
    assert plan["final_value"].startswith("B ")
    # Deleting twice is no conflict; a skewed clock makes last_write_wins drop the newer write.
    assert (result.outcomes.query("scenario == 'delete_delete'")["conflicts_reported"] == 0).all()
    assert not outcomes.loc[("clock_skew_ahead", "last_write_wins"), "newer_kept"]
    assert not outcomes.loc[("clock_skew_behind", "last_write_wins"), "newer_kept"]
    # With |skew| above every gap, the skew decides: +1 s keeps the older skewed write,
    # -1 s drops the newer skewed write; the other two trials keep the newer write.
    trials = result.skew_trials.set_index(["skew_s", "ordering"])["newer_write_lost"]
    assert trials[(1.0, "skewed_first")] and trials[(-1.0, "skewed_last")]
    assert not trials[(1.0, "skewed_last")] and not trials[(-1.0, "skewed_first")]

    report = result.report(str(tmp_path))
    saved = report.save()
    assert saved.exists() and (tmp_path / "conflicts.outcomes.csv").exists()
    assert report.environment["toxiproxy_version"]


async def test_blind_overwrite_is_caught_as_silently_lost_unreported_conflicts() -> None:
    # With the bug the batch sync overwrites without a version check: no conflict at all.
    params = ConflictParams(seed=3, scenarios=("edit_edit_same_field", "delete_delete"),
                            skew_trials=0, seeded_bug="blind_overwrite")
    result = await run(params)

    lost = result.check("no_silently_lost_changes")
    assert not lost.passed
    by_cell = {(e["scenario"], e["strategy"]): e for e in lost.counterexample}
    entry = by_cell[("edit_edit_same_field", "server_wins")]
    # A's edit (and its sync) vanished under B's push: both sets of operations are named.
    assert entry["side"] == "A" and entry["lost_fields"]["content"].startswith("A ")
    operations = result.operations.set_index("op_id")
    assert set(operations.loc[entry["op_ids"], "client"]) == {"A"}
    assert set(operations.loc[entry["overwritten_by_op_ids"], "client"]) == {"B"}
    assert "sync" in set(operations.loc[entry["overwritten_by_op_ids"], "operation"])
    assert not any(e["scenario"] == "delete_delete" for e in lost.counterexample)

    unreported = result.check("expected_conflicts_reported")
    assert not unreported.passed
    assert {e["scenario"] for e in unreported.counterexample} == {"edit_edit_same_field"}
    assert not result.check("winner_matches_strategy").passed
    # Nothing was reported, so there is nothing reported twice; and the replicas still agree.
    assert result.check("conflicts_reported_once").passed
    assert result.check("convergence").passed
