"""Driving the stacks: the fault phase (clients under the nemesis) and the rate-limit phase.

The fault phase plays the study's one schedule (network windows on the clients' proxy,
the storage fault on the server) with a Nemesis while HTTP clients, a bulk client, a probe
and WebSocket subscribers work through the proxy; then heal -> quiesce (every client's
work ends within a deadline, subscribers catch up with the log within a deadline) -> final
reads (tasks, change log, the breaker's transition log). The rate-limit phase runs on a
second server with a low --rate-limit; it has no faults.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from syncbench.nemesis import FaultSchedule, Nemesis
from syncbench.stack import Stack, StackConfig
from syncbench.studies.resilience.faults import GROUP_KINDS, STORAGE, run_seconds
from syncbench.studies.resilience.params import GROUP, ResilienceParams
from syncbench.studies.resilience.workload import (
    RATE_REPOSITORY,
    REPOSITORY,
    Recorder,
    client_loop,
    greedy_creates,
    large_create,
    plan_requests,
    probe,
)
from tasksync.client import ReceivedEvent, RetryPolicy, WebSocketClient

GREEDY_GROUP = "greedy"


@dataclass
class Observed:
    """What the phases saw, raw, for the analysis."""

    recorder: Recorder = field(default_factory=Recorder)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    subscribers: list[dict[str, Any]] = field(default_factory=list)  # one stats row each
    change_log: list[dict[str, Any]] = field(default_factory=list)
    final_tasks: dict[str, Any] = field(default_factory=dict)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    played: list[dict[str, Any]] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    rate_started: float | None = None  # unix time the rate-limit phase began
    started: float = field(default_factory=time.time)
    ended: float = 0.0


async def _subscribers(stack: Stack, params: ResilienceParams,
                       observed: Observed) -> list[WebSocketClient]:
    feeds = []
    for index in range(params.ws_clients):
        name = f"ws-{index + 1}"

        def on_event(received: ReceivedEvent, name: str = name) -> None:
            observed.deliveries.append({
                "subscriber": name, "repository": received.event.repository,
                "seq": received.event.seq, "received_time": received.received_at,
                "replay": received.replay, "connection": received.connection,
                "latency_ms": received.delivery_latency * 1000})

        feed = stack.ws_client(
            {REPOSITORY: 0}, GROUP, client_id=name, on_event=on_event,
            heartbeat_timeout=params.ws_heartbeat_timeout,
            open_timeout=max(params.request_timeout, 0.5),
            reconnect=RetryPolicy(max_attempts=None, base_delay=params.base_delay,
                                  max_delay=params.max_delay, deadline=120.0,
                                  seed=params.seed + index))
        await feed.connect(timeout=10)
        feeds.append(feed)
    return feeds


async def _catch_up(feeds: list[WebSocketClient], last_seq: int, deadline_s: float) -> bool:
    """Poll until every subscriber reached `last_seq`, at most `deadline_s`; True if so."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    while not all(feed.last_seq.get(REPOSITORY, 0) >= last_seq for feed in feeds):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def fault_phase(params: ResilienceParams, schedule: FaultSchedule,
                      observed: Observed) -> None:
    """Clients work through `schedule` on a fresh stack; the nemesis plays it."""
    recorder = observed.recorder
    config = StackConfig(groups=(GROUP,), server_options=params.server_options(),
                         **params.stack_options())
    async with Stack(config) as stack:
        assert stack.toxiproxy_info is not None
        observed.environment.update(
            toxiproxy_version=stack.toxiproxy_info.version,
            toxiproxy_source=stack.toxiproxy_info.source,
            store=stack.store_description(),
            retry_policy=params.retry_policy(params.seed).as_dict())
        nemesis = Nemesis(stack, recorder.history)
        feeds = await _subscribers(stack, params, observed)
        clients = [stack.http_client(GROUP, f"client-{i + 1}",
                                     retry=params.retry_policy(params.seed + i),
                                     observer=recorder.observe, timeout=params.request_timeout)
                   for i in range(params.clients)]
        bulk = stack.http_client(GROUP, "bulk", retry=params.retry_policy(
            params.seed + 1000, deadline=params.large_task_timeout * 2),
            observer=recorder.observe, timeout=params.large_task_timeout)
        seconds = run_seconds(schedule, params)
        steps = int(seconds / params.think_seconds * 2) + 10
        plans = [plan_requests(params.seed, c.client_id, steps, update_share=params.update_share,
                               think_seconds=params.think_seconds) for c in clients]
        print(f"resilience: {len(schedule)} fault windows over {seconds:.1f} s: "
              + ", ".join(f"{f.label} at {f.at:g}s" for f in schedule), flush=True)

        nemesis.begin()
        stop_at = nemesis.origin + seconds
        work = [asyncio.create_task(client_loop(c, recorder, plan, REPOSITORY, stop_at))
                for c, plan in zip(clients, plans, strict=True)]
        if params.large_task_bytes:
            group_windows = [f for f in schedule if f.kind in GROUP_KINDS and f.target == GROUP]
            work += [asyncio.create_task(large_create(
                bulk, recorder, f"bulk-{i + 1}", params.large_task_bytes, nemesis, window))
                for i, window in enumerate(group_windows)]
        storage = [f for f in schedule if f.kind == STORAGE]
        if storage:
            # A client that never retries shows how the server answers each request.
            prober = stack.http_client(GROUP, "probe", retry=RetryPolicy(max_attempts=1),
                                       observer=recorder.observe,
                                       timeout=params.request_timeout)
            begin = nemesis.origin + max(0.0, storage[0].at - params.lead_seconds)
            work.append(asyncio.create_task(probe(prober, begin, stop_at,
                                                  params.think_seconds)))
        try:
            async with nemesis.playing(schedule) as playing:
                await nemesis.wait(playing, timeout=schedule.length + 60)
            await nemesis.heal()
            # Quiesce: every operation ends, bounded by its retry deadline.
            async with asyncio.timeout(seconds + params.large_task_timeout * 3 + 30):
                await asyncio.gather(*work)
        finally:
            for task in work:
                task.cancel()
            await asyncio.gather(*work, return_exceptions=True)
            await nemesis.heal()
            observed.played = nemesis.played
        recorder.history.complete_pending("run ended")

        observed.change_log = await stack.change_log(REPOSITORY)
        last_seq = max((event["seq"] for event in observed.change_log), default=0)
        print(f"resilience: waiting for {len(feeds)} WebSocket client(s) to reach seq "
              f"{last_seq}", flush=True)
        await _catch_up(feeds, last_seq, params.ws_catchup_seconds)
        observed.subscribers = [{"subscriber": f"ws-{i + 1}", **feed.stats.as_dict(),
                                 "last_seq": feed.last_seq.get(REPOSITORY, 0)}
                                for i, feed in enumerate(feeds)]
        for feed in feeds:
            await feed.close()
        observed.final_tasks.update(await stack.server_tasks(REPOSITORY))
        observed.transitions = list((await stack.breaker()).get("transitions", []))


async def rate_limit_phase(params: ResilienceParams, observed: Observed) -> None:
    """A greedy client goes over its budget on a server of its own (so it bites only here)."""
    print(f"resilience: rate limit {params.rate_limit:g}/s, burst {params.rate_burst:g}: "
          f"{params.rate_limit_requests} requests back to back", flush=True)
    recorder = observed.recorder
    config = StackConfig(groups=(GREEDY_GROUP,), server_options=params.rate_server_options(),
                         **params.stack_options())
    async with Stack(config) as stack:
        greedy = stack.http_client(GREEDY_GROUP, "greedy",
                                   retry=params.retry_policy(params.seed + 2000),
                                   observer=recorder.observe, timeout=params.request_timeout)
        observed.rate_started = time.time()
        await greedy_creates(greedy, recorder, params.rate_limit_requests)
        observed.final_tasks.update(await stack.server_tasks(RATE_REPOSITORY))


async def observe(params: ResilienceParams, schedule: FaultSchedule) -> Observed:
    """Run the phases the params ask for; what they saw."""
    observed = Observed()
    if len(schedule) or params.faults or params.protection_phase:
        await fault_phase(params, schedule, observed)
    if params.rate_limit_phase:
        await rate_limit_phase(params, observed)
    observed.ended = time.time()
    return observed


__all__ = ["Observed", "fault_phase", "observe", "rate_limit_phase"]
