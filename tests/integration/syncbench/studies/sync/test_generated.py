"""The sync study's generated workload end to end on a real stack, and its replay from the
schedule it recorded (the path shrinking takes)."""

from __future__ import annotations

import pytest

from syncbench.explore import op_counts
from syncbench.explore.driver import played_steps
from syncbench.studies.sync import SyncParams, run
from syncbench.studies.sync.workload import operations_of

TINY = dict(profiles=("lan",), generated_operations=120, http_clients=2, replicas=2,
            subscribers=1, think_s=0.01, subscriber_outage_s=0.2, offline_s=0.2,
            delivery_timeout_s=5.0, seed=3,
            log_retention=15)  # readers far behind meet resync_required (a declared path)


@pytest.mark.timeout(120)
async def test_a_generated_run_passes_and_records_the_checkers_frames() -> None:
    result = await run(SyncParams(**TINY))

    assert result.passed, result.checks_frame().to_string()
    for name in ("observations", "deliveries", "subscriptions", "change_log", "final_states",
                 "replica_syncs", "workload"):
        assert len(result.frame(name)), name
    workload = operations_of(result.frame("workload"))
    # at least as many as asked (a kind may make several at once, a resume storm eight)
    assert len(workload) >= 120 and len(op_counts(workload)) > 15
    # one History op per schedule op, each in the profile's run
    operations = result.workload_operations()
    assert sorted(operations["arg_step"].dropna().astype(int)) == played_steps(workload)
    assert set(result.frame("observations")["profile"]) == {"lan"}


@pytest.mark.timeout(120)
async def test_given_operations_are_played_exactly() -> None:
    first = await run(SyncParams(**{**TINY, "generated_operations": 40}))
    schedule = operations_of(first.frame("workload"))
    chosen = [op for op in schedule if op["client"] in ("c0", "s0")]
    replay = await run(SyncParams(**{**TINY, "operations": chosen}))

    assert operations_of(replay.frame("workload")) == chosen
    played = replay.workload_operations()
    assert sorted(played["arg_step"].dropna().astype(int)) == played_steps(chosen)
    # a few operations leave some checks nothing to judge (unknown), but none may fail
    assert "fail" not in set(replay.checks_frame()["verdict"]), replay.checks_frame().to_string()
