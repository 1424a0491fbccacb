"""Each study's declared paths count what its frames show, and declare what its
parameters make it play: a count of 0 is what turns `faults_bite` UNKNOWN."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from syncbench.studies.conflicts.params import ConflictParams
from syncbench.studies.conflicts.paths import conflict_paths
from syncbench.studies.resilience.params import ResilienceParams
from syncbench.studies.resilience.paths import resilience_paths
from syncbench.studies.sync.params import SyncParams
from syncbench.studies.sync.paths import sync_paths


def counts(paths: list, **frames: pd.DataFrame) -> dict[str, int]:
    result = SimpleNamespace(frames=frames)
    return {path.name: path.count(result) for path in paths}


def test_sync_counts_resumes_with_a_replay_retries_resyncs_and_failed_syncs() -> None:
    deliveries = pd.DataFrame({
        "subscriber": ["s0", "s0", "s0", "s1", "s1"], "connection": [1, 2, 2, 3, 4],
        "replay": [True, True, False, False, False]})
    operations = pd.DataFrame({"operation": ["retry_create", "retry_batch", "create"],
                               "outcome": ["ok", "fail", "ok"]})
    syncs = pd.DataFrame({"outcome": ["ok", "info", "fail"],
                          "resynced": [True, None, False]})
    subscriptions = pd.DataFrame({"action": ["subscribe", "resync", "resume"]})
    found = counts(sync_paths(SyncParams()), deliveries=deliveries, operations=operations,
                   syncs=syncs, subscriptions=subscriptions)
    # s0's second connection replayed; s1's later one did not; the first never counts
    assert found == {"resumed_with_replay": 1, "sync_failed_offline": 2, "retry_replayed": 1,
                     "resync_required": 2}


def test_a_nominal_sync_run_declares_only_what_its_faults_do() -> None:
    names = [p.name for p in sync_paths(SyncParams(workload="nominal"))]
    assert names == ["resumed_with_replay"]
    assert "resync_required" not in [p.name for p in sync_paths(SyncParams(log_retention=0))]


def test_resilience_counts_retries_resumes_and_both_breaker_moves() -> None:
    breaker = pd.DataFrame({"from": ["closed", "open", "half_open", "closed"],
                            "to": ["open", "half_open", "closed", "open"]})
    found = counts(resilience_paths(ResilienceParams(), storage_played=True),
                   attempts=pd.DataFrame({"attempt": [1, 2, 3, 1]}),
                   websocket=pd.DataFrame({"reconnects": [0, 2]}), breaker=breaker)
    assert found == {"request_retried": 2, "subscriber_resumed": 2, "breaker_opened": 2,
                     "breaker_closed": 1}
    quiet = counts(resilience_paths(ResilienceParams(), storage_played=True),
                   attempts=pd.DataFrame({"attempt": []}), websocket=pd.DataFrame(),
                   breaker=pd.DataFrame())
    assert set(quiet.values()) == {0}
    assert not resilience_paths(ResilienceParams(faults=[], ws_clients=0), False)


def test_conflicts_declares_each_strategy_and_the_clock_sweep_when_it_can_bite() -> None:
    outcomes = pd.DataFrame({"strategy": ["server_wins", "merge", "merge"],
                             "conflicts_reported": [0, 1, 2]})
    trials = pd.DataFrame({"newer_write_lost": [True, False, True]})
    params = ConflictParams(strategies=["server_wins", "merge"], skew_sweep_s=[-2.0, 2.0],
                            max_gap_s=0.5)
    found = counts(conflict_paths(params), outcomes=outcomes, skew_trials=trials)
    assert found == {"conflict_server_wins": 0, "conflict_merge": 3,
                     "lww_dropped_newer_write": 2}
    small = params.replace(skew_sweep_s=[-0.25, 0.25])  # never beyond the gap: not declared
    assert "lww_dropped_newer_write" not in [p.name for p in conflict_paths(small)]
