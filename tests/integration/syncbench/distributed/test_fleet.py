"""Subscribers spread over Ray actors against a real stack: every event reaches every
subscriber, deliveries from every actor merge into one record, each actor's clock offset is
measured and taken off its arrivals, and order is the server's seq."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from syncbench.distributed import HttpFleet, SubscriberFleet
from syncbench.ray_cluster import connect_ray, disconnect_ray
from syncbench.stack import Stack, StackConfig
from tasksync.client import HTTPClient
from tests.support import coverage

pytestmark = [pytest.mark.xdist_group("ray"), pytest.mark.timeout(240)]
EVENTS = 5


@pytest.fixture(scope="module")
def ray_running() -> Iterator[None]:
    """One local Ray for the module's tests (each start takes 3-10 s); its workers are not
    measured by the suite's coverage (the same client code runs in process below)."""
    with coverage.unmeasured_subprocesses():
        connect_ray()
    yield
    disconnect_ray()


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    async with Stack(StackConfig(groups=("load",))) as running:
        yield running


async def fan_out(stack: Stack, fleet: SubscriberFleet, subscribers: int) -> list[dict]:
    names = [f"sub{i}" for i in range(subscribers)]
    await fleet.subscribe(stack.ws_url("load"), "fan", names, timeout_s=60)
    async with HTTPClient(stack.url("load"), client_id="writer") as writer:
        for n in range(EVENTS):
            await writer.create_task("fan", f"event {n}")
    assert await fleet.wait_for(subscribers * EVENTS, timeout_s=60, quiet_s=10) == (
        subscribers * EVENTS)
    return await fleet.collect()


def every_subscriber_saw_every_event_in_seq_order(rows: list[dict], subscribers: int) -> None:
    by_subscriber: dict[str, list[int]] = {}
    for row in rows:
        by_subscriber.setdefault(row["subscriber"], []).append(row["seq"])
    assert len(by_subscriber) == subscribers
    for seqs in by_subscriber.values():
        assert seqs == sorted(seqs) and len(set(seqs)) == EVENTS


async def test_subscribers_in_ray_actors_get_every_event_and_merge_into_one_record(
        stack: Stack, ray_running: None) -> None:
    fleet = await SubscriberFleet.start(actors=2)
    try:
        rows = await fan_out(stack, fleet, subscribers=12)
    finally:
        await fleet.stop()
    every_subscriber_saw_every_event_in_seq_order(rows, 12)
    assert {row["group"] for row in rows} == {"actor-0", "actor-1"}
    described = fleet.describe()
    assert described["placement"] == "ray actors" and described["groups"] == 2
    for offset in described["clock_offsets"].values():
        # one machine, one clock: the measured offset is within its own uncertainty
        # (plus a millisecond of scheduling) of zero
        assert abs(offset["offset_s"]) <= offset["uncertainty_s"] + 0.001
    assert all(-1000 < row["latency_ms"] < 60_000 for row in rows)


async def test_the_same_fleet_in_process_needs_no_ray(stack: Stack) -> None:
    fleet = await SubscriberFleet.start(actors=0)
    try:
        rows = await fan_out(stack, fleet, subscribers=4)
    finally:
        await fleet.stop()
    every_subscriber_saw_every_event_in_seq_order(rows, 4)
    assert fleet.describe()["placement"] == "in process" and fleet.cluster is None


async def test_polling_http_clients_in_ray_actors_record_every_request(
        stack: Stack, ray_running: None) -> None:
    fleet = await HttpFleet.start(actors=2)
    try:
        rows = await fleet.poll(stack.url("load"), [f"user{i}" for i in range(6)],
                                seconds=1.0, interval_s=0.25, timeout_s=30)
    finally:
        await fleet.stop()
    # six users, a request every 0.25 s for 1 s: four each, all answered
    assert len(rows) == 24 and all(row["ok"] for row in rows)
    assert {row["group"] for row in rows} == {"actor-0", "actor-1"}
    assert {row["client"] for row in rows} == {f"user{i}" for i in range(6)}
    sent = sorted(row["sent_time"] for row in rows)
    assert sent[-1] - sent[0] < 1.5  # on our clock, within the second they polled


async def test_the_sync_study_spreads_its_subscribers_over_actors(ray_running: None) -> None:
    from syncbench.studies.sync import SyncParams, run

    # two subscribers cut off once each while three replicas write: resumes through actors
    result = await run(SyncParams(workload="nominal", profiles=("lan",), replicas=3,
                                  subscribers=2, operations_per_replica=12, think_s=0.05,
                                  offline_s=0.3, subscriber_outage_s=0.4, seed=4,
                                  subscriber_actors=2))

    verdicts = {check.name: check.verdict for check in result.checks}
    assert verdicts["subscribers_saw_every_event"] == "pass", result.checks_frame().to_string()
    assert "fail" not in verdicts.values(), result.checks_frame().to_string()
    deliveries = result.deliveries
    assert set(deliveries["group"]) == {"actor-0", "actor-1"}
    assert set(deliveries["subscriber"]) == {"s0", "s1"}
    placement = result.environment["subscriber_placement"]["lan"]
    assert placement["placement"] == "ray actors" and set(placement["clock_offsets"]) == {
        "actor-0", "actor-1"}


@pytest.mark.parametrize("actors", [0, 2])
async def test_the_creation_load_merges_every_actors_operations_into_one_history(
        stack: Stack, actors: int, request: pytest.FixtureRequest) -> None:
    from syncbench.history import History
    from syncbench.studies.performance.load_fleet import Load, LoadFleet

    if actors:
        request.getfixturevalue("ray_running")
    history = History()
    fleet = await LoadFleet.start(actors=actors)
    tasks = [(f"t{n}", f"task {n}") for n in range(60)]
    try:
        phase = await fleet.closed_loop(
            history, stack.url("load"), [f"w{i}" for i in range(4)],
            Load("create", "created", tasks), labels={"phase": "creation"},
            deadline_s=60, timeout_s=30, server_pid=stack.server.pid)
    finally:
        await fleet.stop()
    ops = history.operations
    # every task made once, by one of the four workers, each op recorded once, in order
    assert phase.ok == phase.requested == 60 and phase.failed == 0
    assert sorted(op.task_id for op in ops) == sorted(task_id for task_id, _ in tasks)
    assert {op.client for op in ops} == {"w0", "w1", "w2", "w3"}
    assert len({op.op_id for op in ops}) == 60
    groups = {"actor-0", "actor-1"} if actors else {"local"}
    assert {op.args["group"] for op in ops} == groups
    assert all(op.args["phase"] == "creation" and op.outcome == "ok" for op in ops)
    server = await stack.server_tasks("created")
    assert sorted(server) == sorted(task_id for task_id, _ in tasks)
    # the phase's wall time spans its operations on our clock; CPU was measured on both sides
    first = min(op.invoke_time for op in ops)
    last = max(op.complete_time for op in ops if op.complete_time)
    assert phase.elapsed_s == pytest.approx(last - first)
    assert 0 < phase.elapsed_s < 60 and phase.client_cpu_s > 0 and phase.server_cpu_s > 0
    assert fleet.describe()["placement"] == ("ray actors" if actors else "in process")
