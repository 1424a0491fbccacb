"""The conflicts study end to end on a real Stack (tasksync server + Toxiproxy)."""

from __future__ import annotations

import pytest

from syncbench.nemesis import parse_schedule
from syncbench.studies.conflicts import SCENARIOS, ConflictParams, run
from tasksync.models import STRATEGIES

# whole conflicts studies: about 60-95 s each on a loaded machine, past the default 120 s
# when the machine is busier still (CI4)
pytestmark = pytest.mark.timeout(300)


async def test_every_scenario_under_every_strategy_passes_its_checks(tmp_path) -> None:
    # skews well above every gap: the real gap also holds the clock fault's start and stop
    params = ConflictParams(seed=3, offline_edits=2, skew_sweep_s=(-3.0, 3.0), skew_trials=1,
                            min_gap_s=0.05, max_gap_s=0.2, workload="nominal")
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
    # With |skew| above every gap, the server's clock decides: ahead by 3 s, the older write
    # it stamped beats a newer offline edit; behind by 3 s, the newer write it stamped loses
    # to an older offline edit; the other two trials keep the newer write.
    trials = result.skew_trials.set_index(["skew_s", "ordering"])["newer_write_lost"]
    assert trials[(3.0, "skewed_first")] and trials[(-3.0, "skewed_last")]
    assert not trials[(3.0, "skewed_last")] and not trials[(-3.0, "skewed_first")]

    # Every fault is on the timeline: B cut off in each long_offline_edit cell, B's clock off
    # in each clock_skew_* cell, the server's real clock off in each sweep trial; all healed,
    # and the schedule says the same.
    windows = result.fault_windows
    offline = windows[windows["fault"] == "offline"]
    assert sorted(offline["phase"]) == sorted(f"c-long_offline_edit-{s}" for s in STRATEGIES)
    assert set(offline["target"]) == {"side-b"}
    clocks = windows[windows["fault"] == "client_clock"]
    assert len(clocks) == 2 * len(STRATEGIES)
    server_clocks = windows[windows["fault"] == "clock"]
    assert len(server_clocks) == 4 and set(server_clocks["target"]) == {"server"}
    assert sorted(server_clocks["profile"]) == ["clock +3s", "clock +3s", "clock -3s",
                                                "clock -3s"]
    assert windows["healed"].all() and (windows["end"] > windows["start"]).all()
    assert [w["fault"] for w in result.schedule] == list(windows["fault"])
    parse_schedule(result.schedule)  # what was played is a valid schedule to replay
    # The failed offline sync happened inside B's offline window.
    ops = result.operations
    failed = ops[(ops["operation"] == "sync") & (ops["outcome"] != "ok")]
    assert len(failed) == len(STRATEGIES)
    assert result.metric("faults_healed_at_end") == 0
    assert result.metric("replicas_not_quiesced") == 0

    report = result.report(str(tmp_path))
    saved = report.save()
    assert saved.exists() and (tmp_path / "conflicts.outcomes.csv").exists()
    assert (tmp_path / "conflicts.fault_windows.csv").exists()
    assert report.environment["toxiproxy_version"]


async def test_blind_overwrite_is_caught_as_silently_lost_unreported_conflicts() -> None:
    # With the bug the batch sync overwrites without a version check: no conflict at all.
    params = ConflictParams(seed=3, scenarios=("edit_edit_same_field", "delete_delete"),
                            skew_trials=0, seeded_bug="blind_overwrite", workload="nominal")
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


def _shape(schedule: list[dict]) -> list[tuple]:
    # by phase: sweep trials run concurrently, so which one's fault starts first may differ
    shape = [(w.get("phase"), w["fault"], w["target"], w["for"], w.get("skew_s"),
              w.get("offset_s")) for w in schedule]
    return sorted(shape, key=lambda entry: str(entry[0]))


async def test_a_replayed_schedule_plays_the_same_faults_and_gives_the_same_verdict() -> None:
    params = ConflictParams(seed=2, scenarios=("long_offline_edit", "clock_skew_behind"),
                            strategies=("server_wins", "last_write_wins"), offline_edits=2,
                            skew_sweep_s=(3.0,), skew_trials=1, max_gap_s=0.1,
                            workload="nominal")
    first = await run(params)
    assert first.passed, first.checks_frame().to_string()
    assert {w["fault"] for w in first.schedule} == {"offline", "client_clock", "clock"}

    again = await run(params.replace(schedule=first.schedule))
    # Same kinds, order, targets, phases and durations; the same verdicts and outcomes.
    assert _shape(again.schedule) == _shape(first.schedule)
    assert [c.verdict for c in again.checks] == [c.verdict for c in first.checks]
    columns = ["scenario", "strategy", "outcome", "newer_kept"]
    assert again.outcomes[columns].equals(first.outcomes[columns])
    assert again.skew_trials["newer_write_lost"].tolist() == \
        first.skew_trials["newer_write_lost"].tolist()
    # The replay's faults are recorded like the study's own.
    assert list(again.fault_windows["fault"]) == [w["fault"] for w in again.schedule]


async def test_a_given_schedule_replaces_the_studys_own_faults() -> None:
    # No offline window for B in this schedule: its "offline" sync now goes through, and
    # the only fault played is the given one (a storage delay in one cell's slot).
    params = ConflictParams(seed=2, scenarios=("long_offline_edit",),
                            strategies=("server_wins",), offline_edits=1, skew_trials=0,
                            workload="nominal", schedule=[{"at": 0.0, "for": 0.3, "fault": "storage",
                                       "target": "server", "delay_ms": 20.0,
                                       "phase": "c-long_offline_edit-server_wins"}])
    result = await run(params)
    assert result.passed, result.checks_frame().to_string()
    assert [(w["fault"], w["for"]) for w in result.schedule] == [("storage", 0.3)]
    ops = result.operations
    assert (ops.loc[ops["operation"] == "sync", "outcome"] == "ok").all()
