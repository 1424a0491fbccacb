"""The resilience study end to end on real stacks (tasksync server + Toxiproxy), tiny parameters."""

from __future__ import annotations

import pytest

from syncbench.studies.resilience import PROTECTION_PHASE, RATE_PHASE, ResilienceParams, run

# One fault that loses responses after the server applied the write, so creates are retried.
TINY = dict(faults=("cut-responses",), clients=2, lead_seconds=0.3, fault_seconds=1.0,
            recover_seconds=1.2, recovery_grace_seconds=0.4, large_task_bytes=2000, seed=3)


@pytest.mark.timeout(90)
async def test_clients_ride_out_the_fault_and_the_server_protects_itself(tmp_path) -> None:
    result = await run(ResilienceParams(
        **TINY, ws_clients=1, storage_fault_seconds=1.5, storage_recover_seconds=2.5,
        rate_limit_requests=6))

    assert result.passed, result.checks_frame().to_string()
    ops = result.operations
    during = ops[(ops["phase"] == "cut-responses") & (ops["period"] == "during")]
    assert (during["attempts"] > 1).any(), "responses were cut, so requests were retried"
    assert result.check("no_duplicates_from_retries").passed
    # The breaker opened on the storage faults and closed again; its log is on the timeline.
    assert {"open", "half_open", "closed"} <= set(result.breaker["state"])
    assert result.metrics["breaker.open_503s"] > 0
    assert set(result.windows["target"]) == {"clients", "storage"}
    assert (ops["phase"] == PROTECTION_PHASE).any()
    # The greedy client was limited and waited at least Retry-After each time.
    rate = result.attempts[result.attempts["phase"] == RATE_PHASE]
    assert (rate["status_code"] == 429).any()
    limited = rate[(rate["status_code"] == 429) & rate["gap_s"].notna()]
    assert (limited["gap_s"] >= limited["retry_after"] - 0.01).all()
    # The WebSocket client lost its connection in the fault and resumed without a gap.
    assert result.websocket["reconnects"].sum() >= 1
    assert result.check("subscribers_saw_every_event").passed
    report = result.report(str(tmp_path))
    assert report.save().is_file()
    assert report.environment["toxiproxy_version"]


@pytest.mark.timeout(60)
async def test_ignoring_idempotency_keys_under_cut_responses_duplicates_creates() -> None:
    result = await run(ResilienceParams(**TINY, ws_clients=0, protection_phase=False,
                                        rate_limit_phase=False, seeded_bug="ignore_idempotency"))

    duplicates = result.check("no_duplicates_from_retries")
    assert not duplicates.passed
    assert result.check("no_lost_acknowledged_writes").passed
    named = {entry["key"] for entry in duplicates.counterexample}
    assert named
    for entry in duplicates.counterexample:
        assert entry["operation"] == "create"
        assert len(entry["task_ids"]) > 1
        assert entry["attempts"] is None or entry["attempts"] > 1, "a retry made the duplicate"
    # Each named create is a recorded operation whose key the server holds more than once.
    creates = result.operations[result.operations["operation"] == "create"]
    assert {entry["op_id"] for entry in duplicates.counterexample} <= set(creates["op_id"])
    assert named <= set(creates["arg_key"])
