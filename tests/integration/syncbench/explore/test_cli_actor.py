"""A CLI replica (`k0`: a `tasksync` process per command) in a played schedule on a real
Stack (tasksync server, Toxiproxy, an HTTP client beside it): one History op per command with
its exit code, a manual conflict listed and resolved, a watch that applies others' writes,
a sync while cut off recorded as unknown, replica_syncs rows after each completed sync and
watch, acknowledged changes all settled, and the final rounds converging with the CLI
replica among the holders.

The schedule is played in phases (`Driver.run` once per phase), so that what one client does
before another is certain; inside the watch's phase the HTTP client writes meanwhile.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pandas as pd
import pytest
import pytest_asyncio

from syncbench.explore import KINDS, Shape, cli_repository, generate, repository_names
from syncbench.explore.context import DriverConfig, RunContext
from syncbench.explore.driver import Driver
from syncbench.explore.records import FRAME_COLUMNS, Recorder, frames_of
from syncbench.explore.weights import CLI_REPLICA
from syncbench.history import FAIL, INFO, OK, History
from syncbench.nemesis import Nemesis
from syncbench.stack import Stack, StackConfig
from syncbench.studies.sync.checks import (
    acknowledged_changes_applied_or_reported,
    settle_acknowledged,
)
from syncbench.studies.sync.params import cli_group, group_of

REPO = "tasks-0"


def _ops(*ops: dict[str, Any], start: int) -> list[dict[str, Any]]:
    """Ops numbered from `start`, each with the fields every schedule op has."""
    return [{"step": start + index, "kind": op["op"] if op["op"] != "cli_conflicts"
             else "cli_resolve", "pause": 0.0, **op} for index, op in enumerate(ops)]


FIELDS = {"status": "pending", "priority": "low"}
PHASES = [
    _ops({"client": "k0", "op": "cli_add", "key": "k0.0", "content": "k0.0 draft",
          "task_id": "k0-0", **FIELDS},
         {"client": "k0", "op": "cli_add", "key": "k0.1", "content": "k0.1 plan",
          "task_id": None, **FIELDS},
         {"client": "k0", "op": "cli_list", "all": False},
         {"client": "k0", "op": "cli_sync", "strategy": "server_wins"}, start=0),
    # the HTTP client changes k0's task on the server and adds one k0 will pull
    _ops({"client": "c0", "op": "update", "target": {"task_id": "k0-0", "repository": REPO},
          "if_match": None, "content_suffix": "v4"},
         {"client": "c0", "op": "create", "repository": REPO, "task_id": "c0-5",
          "content": "c0.5 ship", **FIELDS}, start=4),
    # k0 edits the same task: a manual sync leaves a conflict, listed, resolved, pushed
    _ops({"client": "k0", "op": "cli_edit", "own": True, "pick": 0.0, "by_prefix": False,
          "done": False, "content_suffix": "v6", "status": "in_progress"},
         {"client": "k0", "op": "cli_sync", "strategy": "manual"},
         {"client": "k0", "op": "cli_conflicts"},
         {"client": "k0", "op": "cli_resolve", "pick": 0.0, "keep": "local"},
         {"client": "k0", "op": "cli_sync", "strategy": "server_wins"},
         {"client": "k0", "op": "cli_edit", "own": True, "pick": 0.99, "by_prefix": True,
          "done": True},
         {"client": "k0", "op": "cli_edit", "own": False, "pick": 0.0, "by_prefix": True,
          "done": False, "priority": "high"},
         {"client": "k0", "op": "cli_rm", "own": True, "pick": 0.0, "by_prefix": False},
         {"client": "k0", "op": "cli_list", "all": True},
         {"client": "k0", "op": "cli_sync", "strategy": "server_wins"}, start=6),
    # k0 watches while the HTTP client writes
    _ops({"client": "k0", "op": "cli_watch", "seconds": 2.0},
         {"client": "c0", "op": "create", "repository": REPO, "task_id": "c0-17",
          "content": "c0.17 call", **FIELDS, "pause": 0.5},
         {"client": "c0", "op": "update", "target": {"task_id": "c0-5", "repository": REPO},
          "if_match": None, "status": "completed"}, start=16),
]
OFFLINE = _ops({"client": "k0", "op": "cli_add", "key": "k0.19", "content": "k0.19 fix",
                "task_id": None, **FIELDS},
               {"client": "k0", "op": "cli_sync", "strategy": "server_wins"}, start=19)
ONLINE = _ops({"client": "k0", "op": "cli_sync", "strategy": "server_wins"},
              {"client": "k0", "op": "cli_resolve", "pick": 0.0, "keep": "server"}, start=21)
SCHEDULE = [op for phase in [*PHASES, OFFLINE, ONLINE] for op in phase]


def _context(stack: Stack, history: History, recorder: Recorder, nemesis: Nemesis
             ) -> RunContext:
    return RunContext(stack, history, recorder, nemesis,
                      DriverConfig("lan", converge_timeout_s=20.0), repository_names(Shape()),
                      group_of)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def played() -> AsyncIterator[dict[str, Any]]:
    history = History()
    recorder = Recorder("lan")
    groups = (group_of("c0"), group_of("k0"))
    async with Stack(StackConfig(groups=groups, base_profile="lan")) as stack:
        nemesis = Nemesis(stack, history, phase="lan")
        ctx = _context(stack, history, recorder, nemesis)
        driver = Driver(ctx, {"k0": REPO})
        for phase in PHASES:
            await driver.run(phase)
        cut = await nemesis.start("offline", cli_group(0))
        await driver.run(OFFLINE)
        await nemesis.stop(cut)
        await driver.run(ONLINE)
        outcome = await driver.settle()
        server = await stack.server_tasks(REPO)
    frames = {name: frames_of([recorder], name) for name in FRAME_COLUMNS}
    yield {"history": history, "outcome": outcome, "frames": frames, "ctx": ctx,
           "server": server}


# one worker plays the module's schedule once (xdist would play it on each worker)
pytestmark = [pytest.mark.timeout(180), pytest.mark.asyncio(loop_scope="module"),
              pytest.mark.xdist_group("cli-actor")]


def _by_step(played: dict) -> dict[int, Any]:
    return {op.args["step"]: op for op in played["history"].operations if "step" in op.args}


async def test_every_schedule_op_is_one_history_op_with_its_command(played: dict) -> None:
    by_step = _by_step(played)
    assert sorted(by_step) == [op["step"] for op in SCHEDULE]
    for op in SCHEDULE:
        recorded = by_step[op["step"]]
        assert recorded.completed
        if op["client"] == "k0" and op["step"] != 22:  # 22: nothing to resolve, nothing run
            assert recorded.args["command"].split()[0] == recorded.operation[len("cli_"):]
            assert recorded.args["exit_code"] == (0 if recorded.outcome == OK else 1)
    assert by_step[11].operation == "cli_done" and by_step[12].operation == "cli_edit"


async def test_outcomes_say_what_the_exit_codes_say(played: dict) -> None:
    by_step = _by_step(played)
    assert {step: op.outcome for step, op in by_step.items() if op.outcome != OK} == {
        20: INFO, 22: FAIL}, "a sync while cut off with a change queued, a resolve of nothing"
    assert "server unreachable" in by_step[20].error and by_step[20].args["queued"] == 1
    assert "no unresolved conflict" in by_step[22].error


async def test_the_manual_conflict_is_listed_resolved_and_pushed(played: dict) -> None:
    by_step = _by_step(played)
    assert by_step[7].args["conflicts"] == 1
    assert by_step[8].args["unresolved"] == ["k0-0"]
    assert by_step[9].args["command"] == "resolve --keep local -- k0-0"
    assert by_step[10].args["pushed"] >= 1
    # k0's side won in the end: its content, then its delete (step 13)
    assert played["server"]["k0-0"]["content"] == "k0.0 v6"
    assert played["server"]["k0-0"]["deleted"] is True


async def test_tasks_are_named_as_a_user_names_them(played: dict) -> None:
    by_step = _by_step(played)
    done, pulled = by_step[11], by_step[12]
    assert done.args["key"] == "k0.1" and len(done.args["named"]) < len(done.task_id)
    assert done.task_id.startswith(done.args["named"])
    assert pulled.args["key"] == "c0.5" and pulled.args["named"] == "c0-5"
    assert played["server"][done.task_id]["status"] == "completed"
    assert played["server"]["c0-5"]["priority"] == "high"


async def test_lists_are_recorded_in_the_history_args_only(played: dict) -> None:
    by_step = _by_step(played)
    assert (by_step[2].args["listed"], by_step[2].args["unsynced"]) == (2, 2)
    listed = by_step[14].args
    assert listed["deleted"] == 1 and listed["unsynced"] == 3
    observations = played["frames"]["observations"]
    assert not observations["client"].eq("k0").any()


async def test_the_watch_applies_what_others_wrote_meanwhile(played: dict) -> None:
    watch = _by_step(played)[16]
    assert watch.outcome == OK and watch.args["received"] >= 2
    syncs = played["frames"]["replica_syncs"]
    row = syncs[syncs["op_id"] == watch.op_id].iloc[0]
    assert row["matches_server"] and row["pending"] == 0
    assert row["cursor"] == watch.args["cursor"]


async def test_each_completed_sync_and_watch_is_compared_with_the_server(played: dict) -> None:
    by_step = _by_step(played)
    syncs: pd.DataFrame = played["frames"]["replica_syncs"]
    assert set(syncs["replica"]) == {"k0"}
    compared = {by_step[step].op_id for step in (3, 7, 10, 15, 16, 21)}
    assert compared <= set(syncs["op_id"])
    assert by_step[20].op_id not in set(syncs["op_id"]), "a failed sync is not compared"
    manual = syncs[syncs["op_id"] == by_step[7].op_id].iloc[0]
    assert manual["pending"] == 1 and not manual["matches_server"], "the open conflict"
    assert syncs.iloc[-1]["matches_server"], "the final rounds end in agreement"
    assert (syncs["started"] <= syncs["time"]).all()


async def test_acknowledged_changes_are_settled_and_the_end_converges(played: dict) -> None:
    outcome, ctx = played["outcome"], played["ctx"]
    assert outcome["converged"] and not outcome["pending"]
    acks = pd.DataFrame(ctx.acks)
    assert set(acks["replica"]) == {"k0"} and len(acks) >= 7
    log = pd.DataFrame(outcome["log"])
    conflicts = pd.DataFrame(outcome["conflicts"])
    settled = settle_acknowledged(acks, log, conflicts)
    assert acknowledged_changes_applied_or_reported(settled).passed
    final = played["frames"]["final_states"]
    mine = final[final["holder"] == "k0"].set_index("task_id")
    server = final[final["holder"] == "server"].set_index("task_id")
    assert sorted(mine.index) == sorted(server.index)
    columns = ["version", "deleted", "content", "status", "priority"]
    assert mine.loc[server.index, columns].equals(server[columns])


async def test_a_generated_schedule_with_two_cli_replicas_converges() -> None:
    # CLI kinds weigh 5 times their default here, so that each CLI replica does a few things
    weights = {kind: 5 * weight for kind, (role, weight) in KINDS.items() if role == CLI_REPLICA}
    shape = Shape(clients=1, replicas=1, subscribers=0, cli_replicas=2, operations=50,
                  think_s=0.01, weights=weights)
    schedule = generate(shape, 4)
    assert all(sum(op["client"] == name for op in schedule) >= 5 for name in ("k0", "k1"))
    history = History()
    recorder = Recorder("lan")
    groups = tuple(sorted({group_of(op["client"]) for op in schedule} | {group_of("r0")}))
    async with Stack(StackConfig(groups=groups, base_profile="lan")) as stack:
        nemesis = Nemesis(stack, history, phase="lan")
        driver = Driver(_context(stack, history, recorder, nemesis),
                        {"r0": REPO, "k0": cli_repository(shape, 0),
                         "k1": cli_repository(shape, 1)})
        await driver.run(schedule)
        await nemesis.heal()
        outcome = await driver.settle()
    assert outcome["converged"], outcome["states"]
    assert {"server", "r0", "k0", "k1"} <= set(frames_of([recorder], "final_states")["holder"])
    compared = frames_of([recorder], "replica_syncs")
    assert {"r0", "k0", "k1"} <= set(compared["replica"])
    steps = sorted(op.args["step"] for op in history.operations if "step" in op.args)
    assert steps == [op["step"] for op in schedule]


async def test_a_client_crash_meets_a_background_sync_of_a_replica_between_commands() -> None:
    # k0's next command is a list, never a sync: while the crash waits, the replica syncs
    # in the background (as a device does) and the crash kills that sync; its queued add
    # then reaches the server once, in the final rounds
    added = _ops({"client": "k0", "op": "cli_add", "key": "k0.40", "content": "k0.40 fix",
                  "task_id": "k0-40", **FIELDS}, start=40)
    listed = _ops({"client": "k0", "op": "cli_list", "all": False}, start=41)
    history = History()
    async with Stack(StackConfig(groups=(group_of("k0"),), base_profile="lan")) as stack:
        nemesis = Nemesis(stack, history, phase="lan")
        driver = Driver(_context(stack, history, Recorder("lan"), nemesis), {"k0": REPO})
        await driver.run(added)
        async with nemesis.fault("client_crash", "k0", after_s=0.3):
            await driver.run(listed)
        assert stack.syncs_wanted == set()
        outcome = await driver.settle()
        server = await stack.server_tasks(REPO)
    background = [op for op in history.operations if op.args.get("stage") == "background"]
    assert [(op.operation, op.args.get("exit_code")) for op in background] == [
        ("cli_sync", -9)]
    steps = [op.args["step"] for op in history.operations if "step" in op.args]
    assert steps == [40, 41], "the schedule's own commands played as given"
    assert outcome["converged"], outcome["states"]
    assert [task["content"] for task in server.values()] == ["k0.40 fix"]
