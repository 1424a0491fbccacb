"""The measurements, driven on a running Stack: noop references, creation, batch, sustained.

`Bench` holds one run's state (the stack, the history, the seeded rng, the RSS sampler) and
the rows of every frame it fills. Each method measures one scenario under whatever network
condition its phase is in (conditions.py puts it on); fan-out is in fanout.py.

Methodology, against a noisy shared machine:
- each repeat pairs the measured operation with its noop twin run right next to it, in a
  seeded random order, and the ratio is taken per pair before the median;
- every connection is opened (warm-up) before the clock starts;
- the load generator's own CPU (and the server's) is measured per phase: a client near one
  full core is itself the bottleneck, and the report says so.
"""

from __future__ import annotations

import math
import random
import time
from typing import Any

from syncbench.history import History
from syncbench.machine import RssSampler
from syncbench.stack import Stack
from syncbench.stats import median
from syncbench.studies.performance.load_fleet import NO_RETRY, Load, LoadFleet
from syncbench.studies.performance.loadgen import PhaseResult
from syncbench.studies.performance.params import LOAD, PerformanceParams
from syncbench.studies.performance.workload import batch_items, task_contents
from tasksync.client import BatchClient, HTTPClient


def say(message: str) -> None:
    """One progress line per phase (a run takes minutes; the notebook shows these)."""
    print(f"performance: {message}", flush=True)


class Bench:
    """One run's state: the stack, the history, the seeded rng, the frames being filled."""

    def __init__(self, params: PerformanceParams, stack: Stack, history: History) -> None:
        self.params = params
        self.stack = stack
        self.history = history
        self.rng = random.Random(params.seed)
        self.pid = stack.server.pid if stack.server else None
        self.sampler = RssSampler(self.pid, params.rss_interval_s)
        self.noop_rows: list[dict[str, Any]] = []
        self.creation_rows: list[dict[str, Any]] = []
        self.batch_rows: list[dict[str, Any]] = []
        self.fanout_rows: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.subscriptions: dict[str, dict[str, int]] = {}
        self.memory_runs: list[dict[str, Any]] = []
        self.fanout_repos: list[str] = []
        self.fanout_placement: dict[str, dict[str, Any]] = {}  # profile -> fleet.describe()
        self.loads: LoadFleet | None = None
        self.load_placement: dict[str, Any] = {}
        # the deployments compared after the main stack (deployments.py)
        self.deployment_rows: list[dict[str, Any]] = []
        self.deployment_deliveries: list[dict[str, Any]] = []
        self.store = ""  # which store the main stack ran on (Stack.store_description)
        self._ids = 0

    def http(self, url: str, label: str) -> HTTPClient:
        """A client without retries, with a unique id, the phase timeout, closed by the caller."""
        self._ids += 1
        return HTTPClient(url, client_id=f"{label}-{self._ids}", retry=NO_RETRY,
                          timeout=self.params.phase_timeout_s)

    def batch_client(self, label: str) -> BatchClient:
        self._ids += 1
        return BatchClient(self.stack.url(LOAD), client_id=f"{label}-{self._ids}",
                           retry=NO_RETRY, timeout=self.params.phase_timeout_s)

    async def noop_latencies(self, client: HTTPClient, mode: str, count: int,
                             profile: str | None = None) -> list[float]:
        """`count` sequential noops (each recorded); their latencies in ms."""
        samples = []
        for n in range(count):
            start = time.perf_counter()
            async with self.history.record(client.client_id, "noop", phase="reference",
                                           mode=mode, profile=profile):
                await client.noop()
            samples.append((time.perf_counter() - start) * 1000)
            self.noop_rows.append({"mode": mode, "sample": n, "latency_ms": samples[-1]})
        return samples

    async def profile_reference(self, profile: str) -> None:
        """Sequential noop latencies under `profile` (what a single client pays per call)."""
        self.sampler.phase = f"{profile}: reference"
        client = self.http(self.stack.url(LOAD), f"{profile}-ref")
        try:
            await client.noop()
            await self.noop_latencies(client, profile, self.params.noop_samples, profile)
        finally:
            await client.aclose()

    # -- direct vs proxied ---------------------------------------------------------------

    async def direct_vs_proxied(self) -> None:
        """Noop latency straight to the server and through a proxy without toxics."""
        say("noop latency direct vs through Toxiproxy")
        self.sampler.phase = "direct"
        direct = self.http(self.stack.server_url, "direct")
        proxied = self.http(self.stack.url(LOAD), "proxied")
        try:
            await direct.noop()
            await proxied.noop()
            for _ in range(self.params.noop_samples):  # interleaved: both see the same noise
                await self.noop_latencies(direct, "direct", 1)
                await self.noop_latencies(proxied, "proxied", 1)
        finally:
            await direct.aclose()
            await proxied.aclose()

    # -- task creation --------------------------------------------------------------------

    async def load_fleet(self) -> LoadFleet:
        """Where the creation and sustained workers run (started on first use, kept for the
        run: in this process, or `load_actors` Ray actors with their clocks measured)."""
        if self.loads is None:
            p = self.params
            self.loads = await LoadFleet.start(actors=p.load_actors,
                                               address=p.ray_address or None)
            self.load_placement = self.loads.describe()
        return self.loads

    async def stop_load_fleet(self) -> None:
        if self.loads is not None:
            await self.loads.stop()
            self.loads = None

    def worker_names(self, label: str, count: int) -> list[str]:
        """`count` client ids, unique in the run."""
        self._ids += count
        return [f"{label}-c{i}-{self._ids}" for i in range(count)]

    async def creation(self, profile: str) -> None:
        """Creates against noops, per worker count, `repeats` pairs in a seeded order."""
        p = self.params
        for workers in p.workers:
            say(f"{profile}: create {p.tasks_for(profile)} tasks with {workers} workers "
                f"x {p.repeats}" + (f" in {p.load_actors} Ray actors" if p.load_actors else ""))
            names = self.worker_names(f"{profile}-w{workers}", workers)
            for repeat in range(p.repeats):
                order = self.rng.sample(["noop", "create"], 2)
                for kind in order:
                    phase = await self._creation_phase(profile, workers, repeat, kind, names)
                    self.creation_rows.append({
                        "profile": profile, "workers": workers, "repeat": repeat,
                        "kind": kind, "order": order.index(kind), **phase.row()})

    async def _creation_phase(self, profile: str, workers: int, repeat: int, kind: str,
                              names: list[str]) -> PhaseResult:
        p = self.params
        self.sampler.phase = f"{profile}: create"
        prefix = f"{profile}-w{workers}-r{repeat}"
        total = p.tasks_for(profile)
        if kind == "create":
            contents = task_contents(self.rng, total, prefix)
            load = Load("create", f"create-{profile}-w{workers}",
                        [(f"{prefix}-{n}", content) for n, content in enumerate(contents)])
        else:
            load = Load("noop", total=total)
        fleet = await self.load_fleet()
        return await fleet.closed_loop(
            self.history, self.stack.url(LOAD), names, load,
            labels={"phase": "creation", "profile": profile, "workers": workers,
                    "repeat": repeat},
            deadline_s=p.phase_timeout_s, timeout_s=p.phase_timeout_s, server_pid=self.pid)

    # -- batch sync -----------------------------------------------------------------------

    async def batch(self, profile: str) -> None:
        """One batch sync of new items per size and repeat, each next to its noop reference."""
        p = self.params
        self.sampler.phase = f"{profile}: batch"
        reference = self.http(self.stack.url(LOAD), f"{profile}-batch-ref")
        client = self.batch_client(f"{profile}-batch")
        try:
            await reference.noop()
            for size in p.batch_sizes:
                say(f"{profile}: batch of {size} items x {p.repeats}")
                for repeat in range(p.repeats):
                    noop_ms = median(await self.noop_latencies(
                        reference, f"{profile}-batch", p.noop_samples, profile))
                    await self._batch_run(client, profile, size, repeat, noop_ms)
        finally:
            await reference.aclose()
            await client.aclose()

    async def _batch_run(self, client: BatchClient, profile: str, size: int, repeat: int,
                         noop_ms: float) -> None:
        prefix = f"{profile}-n{size}-r{repeat}"
        items = batch_items(self.rng, size, prefix)
        created = 0
        start = time.perf_counter()
        async with self.history.record(client.client_id, "batch_sync", phase="batch",
                                       profile=profile, size=size, repeat=repeat) as op:
            response = await client.batch_sync(f"batch-{prefix}", items)
            created = sum(r.outcome == "created" for r in response.results)
            op.note(seq=response.cursor)
        elapsed = time.perf_counter() - start
        self.batch_rows.append({
            "profile": profile, "size": size, "repeat": repeat, "elapsed_s": elapsed,
            "noop_ms": noop_ms, "ratio": elapsed * 1000 / noop_ms, "created": created,
            "ok": op.outcome == "ok" and created == size})

    # -- sustained load, memory -----------------------------------------------------------

    async def sustained(self, profile: str) -> None:
        """Creates by `sustained_workers` for `sustained_s`, the server's RSS before/after."""
        p = self.params
        say(f"{profile}: sustained creates for {p.sustained_s:g} s, {p.sustained_workers} "
            "workers")
        repository = f"sustained-{profile}"
        # Enough texts for any rate this machine could reach; the clock ends the phase.
        cap = int(p.sustained_s * 5000) + 1
        salt = self.rng.randrange(10**9)
        load = Load("create", repository, [(f"{repository}-{n}", f"sustained {salt} #{n}")
                                           for n in range(cap)], seconds=p.sustained_s)
        fleet = await self.load_fleet()
        self.sampler.phase = f"{profile}: sustained"
        before = self.sampler.sample() or math.nan
        samples_from = len(self.sampler.samples)
        phase = await fleet.closed_loop(
            self.history, self.stack.url(LOAD),
            self.worker_names(f"{profile}-sustained", p.sustained_workers), load,
            labels={"phase": "sustained", "profile": profile},
            deadline_s=p.sustained_s + p.phase_timeout_s, timeout_s=p.phase_timeout_s,
            server_pid=self.pid)
        after = self.sampler.sample() or math.nan
        during = self.sampler.values_since(samples_from)
        self.memory_runs.append({
            "profile": profile, "rss_before_mib": before, "rss_after_mib": after,
            "rss_peak_mib": max([before, after, *during]), "creates": phase.ok,
            **phase.row()})


__all__ = ["NO_RETRY", "Bench", "say"]
