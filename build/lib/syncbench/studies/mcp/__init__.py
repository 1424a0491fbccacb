"""MCP study: MCP clients (the official SDK over streamable HTTP) call the server's /mcp
through Toxiproxy while the nemesis resets connections, cuts replies mid-way, takes the
proxy down, silences it, or restarts the server (forgetting every session).

Each client retries a call until it is answered, under one idempotency key, initialising a
new session after a transport failure (syncbench.mcp_calls). The checks (analysis.py): no
duplicate tasks, no acknowledged write lost, every call answered, every client answered
again soon after each window, failures only under faults, and each fault kind seen to break
calls (`faults_bite`).

Modules: `params` (McpParams), `schedule`, `analysis`, `charts`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import time

from syncbench.history import OK, History
from syncbench.mcp_calls import CallPolicy, McpCaller
from syncbench.metric import S
from syncbench.nemesis import Nemesis, fault_windows
from syncbench.paths import paths_reached
from syncbench.stack import Stack, StackConfig
from syncbench.studies.mcp.analysis import (
    FAILED_OUTCOMES,
    acknowledged_writes_kept,
    attempts_frame,
    declared_paths,
    errors_only_under_faults,
    every_call_answered,
    no_duplicate_tasks,
    outcomes_by_fault,
    recovery,
)
from syncbench.studies.mcp.params import MCP_FAULTS, McpParams
from syncbench.studies.mcp.schedule import GROUP, mcp_schedule
from syncbench.study import Study, StudyResult, enable_seeded_bug, register, seeded_bug_options

REPOSITORY = "mcp-study"
END_TIMEOUT_S = 120.0


async def run(params: McpParams) -> StudyResult:
    """The clients' calls under the schedule; the checks over what they and the server saw."""
    schedule = mcp_schedule(params)
    history = History()
    with enable_seeded_bug(params):
        config = StackConfig(groups=(GROUP,), store=params.store,
                             server_options=seeded_bug_options(params))
        async with Stack(config) as stack:
            url = f"{stack.url(GROUP)}/mcp"
            policy = CallPolicy(attempt_timeout_s=params.attempt_timeout_s,
                                deadline_s=params.call_deadline_s)
            callers = [McpCaller(f"mcp-{n}", url, history, policy) for n in range(params.clients)]
            nemesis = Nemesis(stack, history)
            span = max(schedule.length, params.span_s)
            print(f"mcp study: {params.clients} clients x {params.calls} calls over {span:.0f}s,"
                  f" {len(schedule)} fault windows; store {stack.store_description()}", flush=True)
            nemesis.begin()
            started = time.monotonic()
            try:
                # one window at a time: a slow restart must not overlap the next fault
                async with nemesis.playing(schedule, in_turn=True) as playing:
                    async with asyncio.timeout(span + params.call_deadline_s + END_TIMEOUT_S):
                        await asyncio.gather(*(
                            _calls(caller, params, random.Random(f"{params.seed}-{n}"),
                                   started, span, playing, params.gap_s)
                            for n, caller in enumerate(callers)))
                    await nemesis.wait(playing, timeout=span + END_TIMEOUT_S)
            finally:
                for caller in callers:
                    await caller.close()
            await nemesis.heal()
            tasks = await stack.server_tasks(REPOSITORY)
            log = await stack.change_log(REPOSITORY)
            environment = {"store": stack.store_description(), "toxiproxy_version":
                           stack.toxiproxy_info.version if stack.toxiproxy_info else "",
                           "call_policy": dataclasses.asdict(policy)}
    history.complete_pending()
    return _result(params, history, callers, tasks, log, nemesis.played, environment)


async def _calls(caller: McpCaller, params: McpParams, rng: random.Random, started: float,
                 span: float, playing: asyncio.Task[None], tail_s: float) -> None:
    """At least `params.calls` calls paced over `span`, and on at that pace while windows are still
    to play (a slow restart delays the ones after it) and for `tail_s` after the last:
    creates, updates of the client's own tasks (with the version it was told), reads."""
    own: dict[str, int] = {}  # task id -> version this client was told
    pace = span / params.calls
    ended: float | None = None
    for n in itertools.count():
        if playing.done() and ended is None:
            ended = time.monotonic()
        if n >= params.calls and ended is not None and time.monotonic() > ended + tail_s:
            return
        due = started + (n + rng.random()) * pace
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        draw = rng.random()
        if draw < 0.2 and own:
            task_id = rng.choice(sorted(own))
            key = f"{caller.name}-u{n}"
            answer = await caller.call("update_task", {
                "task_id": task_id, "content": key, "expected_version": own[task_id],
                "idempotency_key": key, "client_id": caller.name},
                key=key, task_id=task_id, content=key)
            if answer is None:
                own.pop(task_id)  # its version is unknown now: leave it alone
            else:
                own[task_id] = answer["version"]
        elif draw < 0.35 and own:
            await caller.call("get_task", {"task_id": rng.choice(sorted(own))})
        else:
            key = f"{caller.name}-c{n}"
            answer = await caller.call("create_task", {
                "repository": REPOSITORY, "content": key, "idempotency_key": key,
                "client_id": caller.name}, key=key, content=key)
            if answer is not None:
                own[answer["id"]] = answer["version"]


def _result(params: McpParams, history: History, callers: list[McpCaller],
            tasks: dict[str, dict], log: list[dict], played: list[dict],
            environment: dict) -> StudyResult:
    windows = fault_windows(history)
    attempts = attempts_frame([row for caller in callers for row in caller.attempts], windows,
                              params.grace_s)
    recovered, recovery_frame = recovery(attempts, windows, [c.name for c in callers],
                                         params.recover_s)
    frames = {"attempts": attempts, "windows": windows, "outcomes": outcomes_by_fault(attempts),
              "recovery": recovery_frame, "operations": history.to_frame()}
    result = StudyResult(study="mcp", params=params, history=history, schedule=played,
                         frames=frames, environment=environment, checks=[
                             no_duplicate_tasks(history, log),
                             acknowledged_writes_kept(history, tasks),
                             every_call_answered(history), recovered,
                             errors_only_under_faults(attempts)])
    calls = [op for op in history if op.client.startswith("mcp-")]
    metrics = result.metrics
    metrics.add("calls", len(calls))
    metrics.add("calls_ok", sum(op.outcome == OK for op in calls))
    metrics.add("attempts", len(attempts))
    metrics.add("failed_attempts", int(attempts["outcome"].isin(FAILED_OUTCOMES).sum()))
    metrics.add("sessions", sum(caller.sessions for caller in callers))
    metrics.add("tasks_on_server", len(tasks))
    seconds = recovery_frame["recovered_after_s"].dropna()
    if not seconds.empty:
        metrics.add("recovery_p50_s", round(float(seconds.median()), 3), S)
        metrics.add("recovery_max_s", round(float(seconds.max()), 3), S)
    result.checks.append(paths_reached(result, declared_paths(params, windows)))
    for row in frames["outcomes"].itertuples(index=False):
        print(f"mcp study: {row.fault}: {row.attempts} attempts {row.outcome}", flush=True)
    return result


STUDY = register(Study("mcp", McpParams, run, "mcp.ipynb",
                       "MCP clients through Toxiproxy under resets, cut replies, outages, "
                       "silence and a server restart: retried calls, re-initialised sessions, "
                       "no duplicate tasks, nothing lost"))

__all__ = ["MCP_FAULTS", "STUDY", "McpParams", "run"]
