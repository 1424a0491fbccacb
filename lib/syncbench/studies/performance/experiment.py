"""One run of the study: a fresh stack, each phase under its network condition, heal,
quiesce, final reads, then the result (frames, checks, metrics, schedule as played)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from syncbench.history import History
from syncbench.machine import machine_description
from syncbench.nemesis import FaultSchedule, Nemesis, parse_schedule
from syncbench.stack import Stack, StackConfig
from syncbench.studies.performance import analysis
from syncbench.studies.performance.baseline import load_baseline, write_baseline
from syncbench.studies.performance.conditions import measured_under
from syncbench.studies.performance.deployments import compare_deployments
from syncbench.studies.performance.fanout import fanout
from syncbench.studies.performance.figures import fanout_percentiles
from syncbench.studies.performance.params import LOAD, PerformanceParams
from syncbench.studies.performance.phases import NO_RETRY, Bench, say
from syncbench.study import StudyResult, enable_seeded_bug

STUDY = "performance"
# The phase of the direct-vs-proxied comparison: the load proxy without toxics.
DIRECT = "direct"
# How long the end of a run may wait for operations still in flight.
QUIESCE_S = 30.0


@dataclass
class PerformanceResult(StudyResult):
    """The study's result; frames: figures, creation, batch, fanout_runs, deliveries, memory,
    memory_runs, noop_latency, operations, fault_windows."""

    baseline: dict[str, Any] | None = None  # the stored baseline the run was compared with

    def fanout_percentiles(self) -> pd.DataFrame:
        """Delivery latency percentiles per profile and subscriber count (median over
        repeats, with min/max): columns profile, subscribers, percentile, value, low, high."""
        return fanout_percentiles(self.frame("figures"))

    def write_baseline(self, path: str | Path | None = None) -> Path:
        """Store this run's gated figures as the baseline (default: the params' file)."""
        assert isinstance(self.params, PerformanceParams)
        return write_baseline(self.params, self.frame("figures"),
                              self.environment.get("machine") or machine_description(), path)


async def run(params: PerformanceParams) -> PerformanceResult:
    """Run the whole study on a fresh embedded stack and return its result."""
    with enable_seeded_bug(params):  # a client or replica bug is on for this run only
        return await _run(params)


async def _run(params: PerformanceParams) -> PerformanceResult:
    replay = parse_schedule(params.schedule) if params.schedule else None
    history = History()
    config = StackConfig(groups=(LOAD,), server_options=params.server_options(),
                         **params.stack_options())
    async with Stack(config) as stack:
        nemesis = Nemesis(stack, history)
        bench = Bench(params, stack, history)
        replay_notes: list[str] = []
        bench.sampler.start()
        try:
            await _phases(params, bench, nemesis, replay, replay_notes)
        finally:
            await bench.sampler.stop()
            await bench.stop_load_fleet()
            await nemesis.heal()
        await quiesce(history, QUIESCE_S)
        change_logs = {repo: [event["seq"] for event in await stack.change_log(repo)]
                       for repo in bench.fanout_repos}
        toxiproxy_version = stack.toxiproxy_info.version if stack.toxiproxy_info else ""
        bench.store = stack.store_description()
    # after the main stack is gone: each deployment has the machine to itself
    bench.deployment_rows, bench.deployment_deliveries = await compare_deployments(
        params.deployments, params.repeats, params.deployment_s, params.deployment_workers,
        params.deployment_events, params.server_options(), history, say,
        batch_items=params.deployment_batch_items,
        target={k: v for k, v in params.stack_options().items() if k != "store"})
    return _result(params, bench, history, nemesis.played, change_logs, toxiproxy_version,
                   replay_notes)


async def _phases(params: PerformanceParams, bench: Bench, nemesis: Nemesis,
                  replay: FaultSchedule | None, notes: list[str]) -> None:
    if params.compare_direct:
        async with measured_under(nemesis, DIRECT, None, replay, notes):
            await bench.direct_vs_proxied()
    for profile in params.profiles:
        say(f"{profile}: network condition on the load proxy")
        async with measured_under(nemesis, profile, profile, replay, notes):
            await bench.profile_reference(profile)
            await bench.creation(profile)
            await bench.batch(profile)
            await fanout(bench, profile)
            await bench.sustained(profile)


async def quiesce(history: History, deadline_s: float) -> int:
    """Wait (polling, with a deadline) until no recorded operation is in flight; whatever is
    still pending then is completed `info`. Returns how many were."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    while any(not op.completed for op in history.operations):
        if loop.time() > deadline:
            break
        await asyncio.sleep(0.05)
    return history.complete_pending("still in flight when the run ended")


def _result(params: PerformanceParams, bench: Bench, history: History,
            played: list[dict[str, Any]], change_logs: dict[str, list[int]],
            toxiproxy_version: str, replay_notes: list[str]) -> PerformanceResult:
    data = analysis.frames(bench, history)
    machine = machine_description()
    baseline = load_baseline(params.baseline_file)
    checks = analysis.checks(params, data, change_logs, bench.subscriptions, baseline, machine)
    metrics, notes = analysis.metrics(params, data)
    result = PerformanceResult(
        study=STUDY, params=params, checks=checks, metrics=metrics, frames=data,
        history=history, schedule=played, baseline=baseline,
        environment={
            "toxiproxy_version": toxiproxy_version,
            "store": bench.store,
            "machine": machine,
            "baseline": str(params.baseline_file),
            "baseline_machine": (baseline or {}).get("machine"),
            "retry_policy": repr(NO_RETRY),
            # where the fan-out's subscribers ran, and each Ray actor's clock offset
            "fanout_placement": bench.fanout_placement,
            # where the creation and sustained workers ran (the same, with load_actors)
            "load_placement": bench.load_placement,
            "notes": notes + replay_notes,
        })
    if params.save_baseline:
        _save_baseline(result)
    return result


def _save_baseline(result: PerformanceResult) -> None:
    """Write the baseline unless a check other than the regression gate failed: a baseline
    of a run that broke is no reference."""
    broken = [check.name for check in result.checks
              if not check.passed and not check.name.startswith("no regression")]
    if broken:
        result.environment["notes"].append(f"baseline not written: {', '.join(broken)} "
                                           "did not pass")
        return
    result.environment["baseline_written"] = str(result.write_baseline())


__all__ = ["DIRECT", "PerformanceResult", "quiesce", "run"]
