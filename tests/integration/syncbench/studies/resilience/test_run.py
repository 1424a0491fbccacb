"""The resilience study end to end on real stacks (tasksync server + Toxiproxy), tiny
parameters: the checks reached and passing, the seeded bug caught, the schedule replayed."""

from __future__ import annotations

import json

import pytest

from syncbench.studies.resilience import STUDY, ResilienceParams
from syncbench.studies.resilience.faults import study_schedule
from syncbench.studies.resilience.timeline import PROTECTION_PHASE, RATE_PHASE
from tasksync import bugs

# One fault that loses responses after the server applied the write, so creates are retried.
TINY = dict(faults=("cut-responses",), clients=2, lead_seconds=0.3, fault_seconds=1.0,
            recover_seconds=1.2, recovery_grace_seconds=0.4, large_task_bytes=2000, seed=3)


@pytest.mark.timeout(90)
async def test_clients_ride_out_the_fault_and_the_server_protects_itself(tmp_path) -> None:
    params = ResilienceParams(**TINY, ws_clients=1, storage_fault_seconds=1.5,
                              storage_recover_seconds=2.5, rate_limit_requests=6)
    result = await STUDY.run(params)

    assert result.passed, result.checks_frame().to_string()
    assert all(check.verdict == "pass" for check in result.checks)
    ops = result.operations
    during = ops[(ops["phase"] == "cut-responses") & (ops["period"] == "during")]
    assert (during["attempts"] > 1).any(), "responses were cut, so requests were retried"
    # The breaker opened on the storage faults and closed again; its log is on the timeline.
    assert {"open", "half_open", "closed"} <= set(result.breaker["state"])
    assert result.metric("breaker.open_503s") > 0
    assert result.metrics["breaker.time_to_detect_s"].unit == "s"
    # Network and storage windows in one shape, from the history
    windows = result.windows
    assert windows[["fault", "target"]].values.tolist() == [["network", "clients"],
                                                            ["storage", "server"]]
    assert windows["healed"].all() and str(windows["start"].dt.tz) == "UTC"
    assert (ops["phase"] == PROTECTION_PHASE).any()
    # The schedule played is the study's own
    assert [w["fault"] for w in result.schedule] == [w["fault"] for w in study_schedule(params)]
    # The greedy client was limited and waited at least Retry-After each time.
    rate = result.attempts[result.attempts["phase"] == RATE_PHASE]
    assert (rate["status_code"] == 429).any()
    limited = rate[(rate["status_code"] == 429) & rate["gap_s"].notna()]
    assert (limited["gap_s"] >= limited["retry_after"] - 0.01).all()
    # The WebSocket client lost its connection in the fault and resumed without a gap.
    assert result.websocket["reconnects"].sum() >= 1
    assert result.check("subscribers_saw_every_event").passed
    report = result.report(str(tmp_path))
    path = report.save()
    summary = json.loads(path.read_text())
    assert summary["schedule"] == json.loads(json.dumps(result.schedule))
    assert report.environment["toxiproxy_version"]
    assert (tmp_path / "resilience.windows.csv").is_file()


@pytest.mark.timeout(60)
async def test_ignoring_idempotency_keys_under_cut_responses_duplicates_creates() -> None:
    result = await STUDY.run(ResilienceParams(**TINY, ws_clients=0, protection_phase=False,
                                              rate_limit_phase=False,
                                              seeded_bug="ignore_idempotency"))

    duplicates = result.check("no_duplicates_from_retries")
    assert duplicates.verdict == "fail"
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


@pytest.mark.timeout(90)
async def test_a_replay_plays_the_same_schedule_with_the_same_params_and_seed() -> None:
    params = ResilienceParams(faults=("wan", "outage"), clients=1, ws_clients=0,
                              lead_seconds=0.2, fault_seconds=0.6, recover_seconds=0.8,
                              recovery_grace_seconds=0.3, large_task_bytes=0,
                              storage_fault_seconds=1.0, storage_recover_seconds=1.5,
                              rate_limit_phase=False, seed=5)
    first = await STUDY.run(params)
    replay = await STUDY.run(ResilienceParams.from_mapping(
        {**params.to_dict(), "schedule": first.schedule}))

    def shape(schedule: list[dict]) -> list[tuple]:
        return [(w["fault"], w["target"], w["at"], w["for"]) for w in schedule]

    assert shape(replay.schedule) == shape(first.schedule) == shape(study_schedule(params))
    assert replay.schedule == first.schedule
    assert replay.windows["profile"].tolist() == first.windows["profile"].tolist()
    assert [c.name for c in replay.checks] == [c.name for c in first.checks]


@pytest.mark.timeout(60)
async def test_a_client_bug_reaches_the_studys_clients_and_is_off_afterwards() -> None:
    # The seeded client bug runs in this process (the study's clients), not in the server.
    params = ResilienceParams(**{**TINY, "faults": ()}, ws_clients=0, protection_phase=False,
                              rate_limit_requests=6, seeded_bug="retry_after_ignored")
    before = bugs.switched_on()
    result = await STUDY.run(params)

    honoured = result.check("client_honoured_retry_after")
    assert honoured.verdict == "fail" and honoured.counterexample
    assert result.check("no_duplicates_from_retries").verdict != "fail"
    assert bugs.switched_on() == before
