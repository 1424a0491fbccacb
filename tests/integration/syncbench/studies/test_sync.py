"""The sync study end to end on real stacks (tasksync server + Toxiproxy), tiny parameters."""

from __future__ import annotations

import pytest

from syncbench.studies.sync import SyncParams, run

# Subscribers are offline for a short part of the run only: live events must flow too.
TINY = dict(replicas=3, subscribers=2, operations_per_replica=12, think_s=0.05, offline_steps=4,
            subscriber_outage_s=0.15, delivery_timeout_s=5.0, seed=4)


@pytest.mark.timeout(90)
async def test_replicas_and_subscribers_converge_under_two_profiles(tmp_path) -> None:
    result = await run(SyncParams(profiles=("lan", "wan"), **TINY))

    assert result.passed, result.checks_frame().to_string()
    assert set(result.convergence["profile"]) == {"lan", "wan"}
    assert result.convergence["converged"].all()
    assert (result.convergence["convergence_s"] >= 0).all()
    # The faults really happened: a replica went offline, every subscriber resumed.
    assert set(result.windows["kind"]) == {"replica", "subscriber"}
    assert (result.convergence["reconnects"] >= 2).all()
    assert result.deliveries["replay"].any(), "a resumed subscriber replays what it missed"
    assert len(result.acknowledged) == 2 * 3 * 12, "every local change was acknowledged"
    assert {"local_create", "sync"} <= set(result.operations["operation"])
    assert result.metrics["sync_round_trips_wan"] > 0
    assert result.latency_cdf()["profile"].unique().tolist() == ["lan", "wan"]

    report = result.report(str(tmp_path))
    path = report.save()
    assert report.passed and path.exists()
    assert (tmp_path / "sync.deliveries.csv").exists()


@pytest.mark.timeout(90)
async def test_a_server_skipping_live_events_fails_only_the_subscriber_check() -> None:
    result = await run(SyncParams(profiles=("lan",), seeded_bug="skip_event", **TINY))

    verdicts = {check.name: check.passed for check in result.checks}
    assert verdicts.pop("subscribers_saw_every_event") is False
    assert all(verdicts.values()), result.checks_frame().to_string()

    broken = result.check("subscribers_saw_every_event").counterexample
    assert broken and {entry["subscriber"] for entry in broken} <= {"s0", "s1"}
    missing = [seq for entry in broken for seq in entry["missing"]]
    # The bug drops every 7th published event; one repository on a fresh server publishes
    # in seq order, so exactly multiples of 7 can go missing (unless a replay covered them).
    assert missing and all(seq % 7 == 0 for seq in missing)
    assert all(entry["scope"] == "lan" and not entry["out_of_order"] for entry in broken)
