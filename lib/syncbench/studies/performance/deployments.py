"""Deployments side by side in one run: creates per second of one server on SQLite (the
baseline), and of one, two and three replicas on PostgreSQL; and for replicas, how long an
event takes to reach a subscriber on the writer's replica and on another one.

Each deployment is a fresh stack of its own, taking turns within each repeat (in the order
given), so a machine whose speed drifts shifts them alike. The workers are dealt over the
replicas, reach them directly (not through Toxiproxy: the deployment is measured, not the
proxy) and write each replica's share into a repository of its own: writes to one
repository take turns across replicas on its row lock (what keeps its seq gap-free), so one
shared repository would measure that lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from syncbench.history import History
from syncbench.stack import Stack, StackConfig
from syncbench.stats import median
from syncbench.studies.performance.load_fleet import NO_RETRY
from syncbench.studies.performance.loadgen import run_closed_loop
from syncbench.studies.performance.workload import batch_items
from tasksync.client import BatchClient, HTTPClient, WebSocketClient

DEPLOYMENT = re.compile(r"^(sqlite|postgresql|qdrant)(?: x([1-8]))?$")
ONE_SERVER_STORES = ("sqlite", "qdrant")  # one server process each: no replicas
BASELINE = "sqlite"
DEPLOYMENT_COLUMNS = ("deployment", "store", "replicas", "repeat", "ok_count", "failed",
                      "elapsed_s", "creates_per_s", "batch_items", "batch_sync_s")
DELIVERY_COLUMNS = ("deployment", "path", "latency_ms")


def parse_deployment(text: str) -> tuple[str, int]:
    """("sqlite", 1) for "sqlite", ("postgresql", 3) for "postgresql x3"; ValueError else."""
    match = DEPLOYMENT.match(text)
    if match is None or (match.group(1) in ONE_SERVER_STORES
                         and match.group(2) not in (None, "1")):
        raise ValueError(f"deployment {text!r}: 'sqlite', 'qdrant', or 'postgresql' with "
                         "'xN' replicas (N 1 to 8), e.g. 'postgresql x3'")
    return match.group(1), int(match.group(2) or 1)


async def compare_deployments(deployments: Sequence[str], repeats: int, seconds: float,
                              workers: int, events: int, server_options: Sequence[str],
                              history: History, say: Any = print, batch_items: int = 0,
                              target: Mapping[str, Any] | None = None,
                              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Creates/s and batch sync rows (one per deployment and repeat) and delivery rows
    (replicas only, the first repeat). `target`: the StackConfig's target and image fields
    (the study's; every deployment runs where the study's own stack does)."""
    rows: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    for repeat in range(repeats):
        for deployment in deployments:
            store, replicas = parse_deployment(deployment)
            groups = tuple(f"deploy-{index}" for index in range(replicas))
            config = StackConfig(groups=groups, store=store, replicas=replicas,
                                 server_options=tuple(server_options), **(target or {}))
            async with Stack(config) as stack:
                if repeat == 0:
                    say(f"deployments: {deployment} runs on {stack.store_description()}")
                urls = [stack.servers[name].base_url for name in stack.server_names]
                row = await _creates(history, deployment, repeat, urls, seconds, workers)
                row["batch_items"] = batch_items
                row["batch_sync_s"] = (await _batch_sync(history, deployment, repeat, urls[0],
                                                         batch_items) if batch_items else None)
                rows.append({"store": store, "replicas": replicas, **row})
                if replicas > 1 and repeat == 0:
                    deliveries += await delivery_latencies(urls, events, deployment)
            batch = (f", batch of {batch_items} in {row['batch_sync_s']:.2f} s"
                     if row["batch_sync_s"] is not None else "")
            say(f"deployments: {deployment}, repeat {repeat + 1}: "
                f"{row['creates_per_s']:.0f} creates/s{batch}")
    return rows, deliveries


async def _creates(history: History, deployment: str, repeat: int, urls: list[str],
                   seconds: float, workers: int) -> dict[str, Any]:
    clients = [HTTPClient(urls[index % len(urls)], client_id=f"{deployment}-r{repeat}-w{index}",
                          retry=NO_RETRY, timeout=30.0) for index in range(workers)]
    repository = {id(client): f"deploy-{index % len(urls)}"
                  for index, client in enumerate(clients)}

    async def create(client: HTTPClient, _worker: int, n: int, op: Any) -> None:
        task = await client.create_task(repository[id(client)], f"deployment task {n}")
        op.note(task_id=task.id, version=task.version)

    try:
        await asyncio.gather(*(client.noop() for client in clients))  # connections warm
        phase = await run_closed_loop(
            history, clients, 10**9, create, name="create",
            labels={"phase": "deployments", "deployment": deployment, "repeat": repeat},
            deadline_s=seconds + 60, stop_at=time.monotonic() + seconds)
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    return {"deployment": deployment, "repeat": repeat, "ok_count": phase.ok,
            "failed": phase.failed, "elapsed_s": phase.elapsed_s,
            "creates_per_s": phase.throughput_per_s}


async def _batch_sync(history: History, deployment: str, repeat: int, url: str,
                      size: int) -> float | None:
    """Seconds one batch sync of `size` new items takes on the deployment (None: failed)."""
    prefix = f"{deployment}-r{repeat}".replace(" ", "")
    items = batch_items(random.Random(prefix), size, prefix)
    async with BatchClient(url, client_id=f"{prefix}-batch", retry=NO_RETRY,
                           timeout=120.0) as client:
        started = time.perf_counter()
        async with history.record(client.client_id, "batch_sync", phase="deployments",
                                  deployment=deployment, repeat=repeat, size=size) as op:
            response = await client.batch_sync(f"deploy-batch-{prefix}", items)
            op.note(seq=response.cursor)
        elapsed = time.perf_counter() - started
    if op.outcome != "ok":  # recorded in the history; no time to report
        return None
    created = sum(result.outcome == "created" for result in response.results)
    return elapsed if created == size else None


async def delivery_latencies(urls: list[str], events: int, deployment: str = ""
                             ) -> list[dict[str, Any]]:
    """`events` writes through the first replica at `urls`; a row per event a subscriber
    there ("same replica") and one on the last ("cross replica") got, with its latency
    (ms, from the event's server timestamp). Short when a subscriber missed some (after
    waiting 30 s)."""
    rows: list[dict[str, Any]] = []
    ws = [url.replace("http://", "ws://") + "/ws" for url in urls]
    every_event = asyncio.Event()

    def listener(path: str) -> WebSocketClient:
        def delivered(received: Any) -> None:
            rows.append({"deployment": deployment, "path": path,
                         "latency_ms": received.delivery_latency * 1000})
            if len(rows) >= 2 * events:
                every_event.set()

        return WebSocketClient(ws[0] if path == "same replica" else ws[-1], ["delivery"],
                               on_event=delivered)

    feeds = [listener("same replica"), listener("cross replica")]
    try:
        for feed in feeds:
            await feed.connect()
        async with HTTPClient(urls[0], client_id=f"{deployment}-writer", retry=NO_RETRY) as writer:
            for n in range(events):
                await writer.create_task("delivery", f"event {n}")
        with contextlib.suppress(TimeoutError):  # short: every_replica_delivered says so
            await asyncio.wait_for(every_event.wait(), 30)
    finally:
        for feed in feeds:
            await feed.close()
    return rows


def deployment_figures(rows: pd.DataFrame) -> pd.DataFrame:
    """Per deployment: median creates/s over repeats, and the median of its ratios to the
    SQLite server of the same repeat."""
    columns = ["deployment", "creates_per_s", "ratio_to_sqlite", "batch_sync_s",
               "batch_ratio_to_sqlite", "repeats", "failed"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    figures = []
    for deployment, group in rows.groupby("deployment", sort=False):
        batches = group["batch_sync_s"].dropna() if "batch_sync_s" in group else []
        batch_ratios = _ratios(rows, group, "batch_sync_s")
        figures.append({"deployment": deployment,
                        "creates_per_s": round(median(group["creates_per_s"]), 1),
                        "ratio_to_sqlite": _rounded(_ratios(rows, group, "creates_per_s")),
                        "batch_sync_s": round(median(batches), 3) if len(batches) else None,
                        "batch_ratio_to_sqlite": _rounded(batch_ratios),
                        "repeats": len(group), "failed": int(group["failed"].sum())})
    return pd.DataFrame(figures, columns=columns)


def _ratios(rows: pd.DataFrame, group: pd.DataFrame, column: str) -> list[float]:
    """Each repeat's `column` over the SQLite server's of the same repeat."""
    if column not in rows:
        return []
    baseline = rows[rows["deployment"] == BASELINE].set_index("repeat")[column]
    return [value / baseline[repeat] for repeat, value in zip(group["repeat"], group[column],
                                                               strict=True)
            if repeat in baseline.index and pd.notna(value) and pd.notna(baseline[repeat])
            and baseline[repeat] > 0]


def _rounded(ratios: list[float]) -> float | None:
    return round(median(ratios), 3) if ratios else None


__all__ = ["BASELINE", "DELIVERY_COLUMNS", "DEPLOYMENT_COLUMNS", "compare_deployments",
           "delivery_latencies", "deployment_figures", "parse_deployment"]
