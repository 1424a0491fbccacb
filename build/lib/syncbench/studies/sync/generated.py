"""One profile's run of a generated workload (syncbench.explore) on a fresh stack.

The same shape as the nominal run (phases.py): the profile as the stack's base condition,
the fault schedule played by the nemesis while the clients work, heal, then the final sync
rounds, the subscribers' final drain and the final reads (explore's Driver.settle). What the
replicas record fills the same ProfileRun fields as the nominal run, so the study's own
checks read them alike; the checkers' frames (observations, subscriptions, final_states,
replica_syncs, ...) are in `run.recorder`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from syncbench.explore import cli_repository, replica_repository, repository_names, shape_of
from syncbench.explore.context import CLIENT_RETRY, DriverConfig, RunContext
from syncbench.explore.driver import Driver
from syncbench.explore.records import Recorder
from syncbench.nemesis import FaultSchedule, Nemesis
from syncbench.stack import Stack, StackConfig
from syncbench.studies.sync.params import SyncParams, group_of
from syncbench.studies.sync.phases import SCHEDULE_GRACE_S, ProfileRun
from syncbench.study import seeded_bug_options

# Watches a profile's stack while its workload runs, into `run.extra` (frame -> rows):
# e.g. the replicas study polls every server's breaker.
Watch = Callable[[Stack, ProfileRun], AbstractAsyncContextManager[None]]


async def run_generated_profile(params: SyncParams, operations: list[dict[str, Any]],
                                schedule: FaultSchedule, run: ProfileRun,
                                environment: dict[str, Any], watch: Watch | None = None
                                ) -> None:
    """Play `operations` under `run.name` on a fresh stack; fills `run` (outcome as the
    nominal run's, plus `run.recorder`)."""
    shape = shape_of(params)
    retention = ("--log-retention", str(params.log_retention)) if params.log_retention else ()
    config = StackConfig(groups=params.groups,
                         server_options=(*seeded_bug_options(params), *retention,
                                         "--ws-replay-page", str(params.ws_replay_page),
                                         "--max-body-bytes", str(params.max_body_bytes),
                                         *params.extra_server_options()),
                         base_profile=run.name, store=params.store,
                         replicas=params.servers,
                         # a clock fault moves the server's clock through libfaketime
                         fake_clock=any(fault.kind == "clock" for fault in schedule))
    async with Stack(config) as stack:
        if stack.toxiproxy_info is not None:
            environment["toxiproxy_version"] = stack.toxiproxy_info.version
        environment["store"] = await asyncio.to_thread(stack.store_description)
        environment["client_retry"] = repr(CLIENT_RETRY)
        recorder = Recorder(run.name)
        nemesis = Nemesis(stack, run.history, phase=run.name)
        ctx = RunContext(
            stack, run.history, recorder, nemesis,
            DriverConfig(run.name, strategy=params.strategy,
                         converge_timeout_s=params.converge_timeout_s,
                         replica_pull_limit=params.replica_pull_limit,
                         max_body_bytes=params.max_body_bytes,
                         delivery_timeout_s=params.delivery_timeout_s),
            repository_names(shape), group_of)
        # one WebSocketClient listener beside each probe subscriber, on its proxy group
        driver = Driver(ctx, {**{f"r{index}": replica_repository(shape, index)
                                 for index in range(params.replicas)},
                              **{f"k{index}": cli_repository(shape, index)
                                 for index in range(params.cli_replicas)}},
                        listeners={f"w{index}": group_of(f"s{index}")
                                   for index in range(params.subscribers)})
        mine = schedule.for_phase(run.name)
        await driver.prepare(operations)  # subscribed before the first fault
        async with watch(stack, run) if watch else contextlib.nullcontext():
            async with nemesis.playing(mine) as faults:
                await driver.run(operations)
                # the whole schedule plays, however quick the workload: a replay plays it again
                await nemesis.wait(faults, mine.length + SCHEDULE_GRACE_S)
            await nemesis.heal()
        # replicas' offline windows are ops of the schedule, played again by a replay's ops
        run.played = [{"phase": run.name, **window} for window in nemesis.played
                      if not window["target"].startswith("replica-")]
        run.outcome = await driver.settle()
        run.recorder = recorder
        run.deliveries = recorder.rows["deliveries"]
        run.syncs, run.acks = ctx.syncs, ctx.acks


__all__ = ["run_generated_profile"]
