"""Replicas study: the generated workload's clients and subscribers spread over server
replicas on one PostgreSQL, while the nemesis faults one replica's database link (latency,
resets, silence, outage), crashes one replica, or restarts the database.

Every check of a generated sync run judges it (no acknowledged write lost, none applied
twice, every subscriber's feed complete and in seq order whichever replica accepted the
write, convergence), and the study adds (analysis.py): delivery latency by path (same
replica or across replicas), `breaker_isolated` (a breaker opens only on a server with a
fault on it), `others_kept_serving` (the other replicas answer while one's link is bad)
and the paths its faults must reach (`faults_bite`). Every server's breaker is polled
while the run goes on (a crashed server's log dies with it).

Modules: `params` (ReplicasParams), `schedule` (the seeded fault schedule), `analysis`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from syncbench import stats
from syncbench.metric import MS
from syncbench.paths import paths_reached
from syncbench.stack import Stack
from syncbench.studies.replicas.analysis import (
    breaker_isolated,
    breaker_openings,
    declared_paths,
    delivery_paths,
    others_kept_serving,
)
from syncbench.studies.replicas.params import REPLICA_FAULTS, ReplicasParams
from syncbench.studies.replicas.schedule import plan_replicas, replicas_schedule
from syncbench.studies.sync import run_generated
from syncbench.studies.sync.analysis import SyncResult
from syncbench.studies.sync.phases import ProfileRun
from syncbench.study import Study, enable_seeded_bug, register

BREAKER_POLL_S = 0.2


async def run(params: ReplicasParams) -> SyncResult:
    """The generated workload over the replicas under the schedule; every generated
    check, and the replicas' own."""
    with enable_seeded_bug(params):
        result = await run_generated(params, plan_replicas, watch_breakers)
        add_replica_checks(params, result)
        return result


@contextlib.asynccontextmanager
async def watch_breakers(stack: Stack, run: ProfileRun) -> AsyncIterator[None]:
    """Poll every server's breaker log while the block runs: transitions into
    `run.extra["breakers"]` (each once, with its server)."""
    seen: set[tuple[Any, ...]] = set()
    rows = run.extra.setdefault("breakers", [])

    async def poll(http: httpx.AsyncClient) -> None:
        for server in stack.server_names:
            try:
                response = await http.get(f"{stack.server_url_of(server)}/api/v1/admin/breaker")
                transitions = response.json()["transitions"]
            except (httpx.HTTPError, ValueError, KeyError):
                continue  # down (crashed, restarting): its new log is read once it is back
            for transition in transitions:
                key = (server, transition["at_unix"], transition["from"], transition["to"])
                if key not in seen:
                    seen.add(key)
                    rows.append({"profile": run.name, "server": server, **transition})

    async def keep_polling() -> None:
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as http:
            while True:
                await poll(http)
                await asyncio.sleep(BREAKER_POLL_S)

    poller = asyncio.create_task(keep_polling())
    try:
        yield
    finally:
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
        async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
            await poll(http)  # what the end left


def add_replica_checks(params: ReplicasParams, result: SyncResult) -> None:
    """Delivery paths, breaker isolation, serving during link faults and faults_bite."""
    frames = result.frames
    if frames.get("breakers") is None or frames["breakers"].empty:
        frames["breakers"] = _empty_breakers()
    paths = delivery_paths(params, frames)
    frames["delivery_paths"] = paths
    frames["delivery_by_path"] = stats.latency_summary(paths, ["path"])
    frames["delivery_cdf"] = stats.ecdf_by(paths, "latency_ms", "path")
    served_check, served = others_kept_serving(params, frames, result.history)
    frames["served_during_faults"] = served
    result.checks += [breaker_isolated(params, frames), served_check]
    for row in frames["delivery_by_path"].to_dict(orient="records"):
        key = row["path"].replace(" ", "_")
        result.metrics.add(f"{key}_delivery_p50_ms", row["p50_ms"], MS)
        result.metrics.add(f"{key}_delivery_p99_ms", row["p99_ms"], MS)
        result.metrics.add(f"{key}_events", row["events"])
    openings = breaker_openings(frames)
    for server in sorted(openings):
        result.metrics.add(f"breaker_openings_{server.replace('-', '_')}", openings[server])
    result.checks.append(paths_reached(result, declared_paths(params)))
    for name, entry in result.paths.items():
        print(f"replicas study: path {name}: reached {entry['count']} times", flush=True)


def _empty_breakers() -> Any:
    import pandas as pd

    return pd.DataFrame(columns=["profile", "server", "from", "to", "at", "at_unix", "reason"])


STUDY = register(Study("replicas", ReplicasParams, run, "replicas.ipynb",
                       "server replicas on one PostgreSQL under database-link faults, a "
                       "replica crash and a database restart: cross-replica delivery, "
                       "breakers isolated, nothing lost"))

__all__ = ["REPLICA_FAULTS", "STUDY", "ReplicasParams", "add_replica_checks", "replicas_schedule",
           "run", "watch_breakers"]
