"""A generated schedule played on a real Stack (tasksync server, Toxiproxy, replicas, WebSocket
subscribers): one History op per schedule op, and the checkers' frames with the contract's
columns and sensible content."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pandas as pd
import pytest
import pytest_asyncio

from syncbench.explore import Shape, generate, replica_repository, repository_names
from syncbench.explore.context import DriverConfig, RunContext
from syncbench.explore.driver import Driver, played_steps
from syncbench.explore.records import FRAME_COLUMNS, Recorder, frames_of
from syncbench.history import History
from syncbench.nemesis import Nemesis
from syncbench.stack import Stack, StackConfig
from syncbench.studies.sync.params import group_of

# Small, with subscribers cycling often, so that resumes happen while others write.
SHAPE = Shape(clients=2, replicas=2, subscribers=2, operations=160, think_s=0.01,
              weights={"subscribe": 4.0, "resume": 4.0, "unsubscribe": 2.0, "list": 3.0,
                       "replay_under_writes": 2.0})


@pytest.fixture(scope="module")
def schedule() -> list[dict[str, Any]]:
    return generate(SHAPE, 6)  # a seed with every op the tests look at, at least twice


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def played(schedule: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    clients = {op["client"] for op in schedule} | {f"r{i}" for i in range(SHAPE.replicas)}
    history = History()
    recorder = Recorder("lan")
    async with Stack(StackConfig(groups=tuple(sorted(map(group_of, clients))),
                                 base_profile="lan")) as stack:
        nemesis = Nemesis(stack, history, phase="lan")
        ctx = RunContext(stack, history, recorder, nemesis,
                         DriverConfig("lan", converge_timeout_s=20.0, delivery_timeout_s=10.0),
                         repository_names(SHAPE), group_of)
        driver = Driver(ctx, {f"r{i}": replica_repository(SHAPE, i)
                              for i in range(SHAPE.replicas)})
        await driver.run(schedule)
        await nemesis.heal()
        outcome = await driver.settle()
    frames = {name: frames_of([recorder], name) for name in FRAME_COLUMNS}
    yield {"history": history, "outcome": outcome, "frames": frames}


# one worker plays the module's schedule once (xdist would play it on each worker)
pytestmark = [pytest.mark.timeout(180), pytest.mark.asyncio(loop_scope="module"),
              pytest.mark.xdist_group("driver")]


async def test_every_schedule_op_is_one_history_op(played: dict, schedule: list) -> None:
    steps = [op.args["step"] for op in played["history"].operations if "step" in op.args]
    # but a replay_under_writes is its subscribe and one create per write
    assert sorted(steps) == played_steps(schedule)
    assert all(op.completed for op in played["history"].operations)


async def test_every_frame_has_the_contracts_columns(played: dict) -> None:
    for name, columns in FRAME_COLUMNS.items():
        frame = played["frames"][name]
        assert list(frame.columns[:len(columns)]) == columns, name
        assert len(frame), f"{name} is empty"


async def test_observations_hold_writes_and_reads_with_requested_and_returned(
        played: dict) -> None:
    obs = played["frames"]["observations"]
    assert {"write", "read"} <= set(obs["kind"])
    assert {"create", "update", "get", "list", "changes", "batch"} <= set(obs["operation"])
    writes = obs[obs["kind"] == "write"]
    # a correct server answers each write with the request's own task and repository
    named = writes[writes["requested_task_id"].notna()]
    assert (named["task_id"] == named["requested_task_id"]).all()
    routed = writes[writes["repository"].notna()]  # by-id routes name no repository
    assert len(routed) and (routed["task_repository"] == routed["repository"]).all()
    assert set(writes[writes["repository"].isna()]["operation"]) <= {
        "update", "delete", "retry_update", "retry_delete"}
    # change events carry their seq; a full listing says so, other reads do not
    changes = obs[obs["source"] == "change"]
    assert len(changes) and changes["seq"].notna().all()
    assert obs[obs["operation"] == "list"]["listing_complete"].all()
    assert not obs[obs["operation"] != "list"]["listing_complete"].any()
    assert (obs["complete_time"] >= obs["invoke_time"]).all()


async def test_deliveries_number_connections_increasing_on_each_resume(played: dict) -> None:
    deliveries = played["frames"]["deliveries"]
    subscriptions = played["frames"]["subscriptions"]
    assert {"subscribe", "resume", "unsubscribe"} <= set(subscriptions["action"])
    for subscriber, mine in deliveries.groupby("subscriber"):
        ordered = mine.sort_values("received_time", kind="stable")
        assert ordered["connection"].is_monotonic_increasing, subscriber
        assert ordered["connection"].nunique() > 1, f"{subscriber} never resumed"
        subscribed = subscriptions[subscriptions["subscriber"] == subscriber]
        assert subscribed.sort_values("time", kind="stable")["connection"].is_monotonic_increasing
    assert deliveries["replay"].any() and not deliveries["replay"].all()


async def test_a_replay_under_writes_subscribes_then_writes_and_sees_each_write(
        played: dict, schedule: list) -> None:
    steps = {op["step"]: op for op in schedule if op["op"] == "replay_under_writes"}
    assert steps, "the seed plays replay_under_writes"
    deliveries = played["frames"]["deliveries"]
    for step, op in steps.items():
        ops = [o for o in played["history"].operations if o.args.get("step") == step]
        subscribe = next(o for o in ops if o.operation == "subscribe")
        creates = [o for o in ops if o.operation == "create"]
        assert len(creates) == len(op["writes"]) and subscribe.outcome == "ok"
        # sent once the subscribe was on its way, so each is after the replay's start
        assert all(o.invoke_time >= subscribe.invoke_time for o in creates)
        seen = set(deliveries[deliveries["subscriber"] == op["client"]]["task_id"])
        assert {o.task_id for o in creates if o.outcome == "ok"} <= seen


async def test_the_end_states_agree_and_each_replica_sync_is_compared(played: dict) -> None:
    outcome = played["outcome"]
    assert outcome["converged"] and outcome["subscribers_caught_up"]
    final = played["frames"]["final_states"]
    assert {"server", "r0", "r1"} <= set(final["holder"])
    syncs = played["frames"]["replica_syncs"]
    assert set(syncs["replica"]) == {"r0", "r1"}
    assert syncs["matches_server"].map(type).eq(bool).all()
    assert syncs["matches_server"].iloc[-2:].all(), "the final rounds end in agreement"
    log = played["frames"]["change_log"]
    for repository, events in log.groupby("repository"):
        assert events["seq"].tolist() == list(range(1, len(events) + 1)), repository


async def test_every_ok_delete_is_observed_as_its_tombstone(played: dict) -> None:
    obs: pd.DataFrame = played["frames"]["observations"]
    ok = {op.op_id: op.task_id for op in played["history"].operations
          if op.operation == "delete" and op.outcome == "ok"}
    assert ok, "the schedule's deletes reached the server"
    deletes = obs[obs["op_id"].isin(ok) & (obs["kind"] == "write")]
    assert sorted(deletes["op_id"]) == sorted(ok)
    assert deletes["deleted"].all()
