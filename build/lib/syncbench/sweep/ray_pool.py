"""Sweep instances as Ray tasks: on a local Ray started for the sweep (one task per CPU of
this machine) or on a running cluster (`--address`, else RAY_ADDRESS).

    with RayPool.connect(address=None) as pool:
        for job, outcome in pool.run(jobs):   # as they finish
            ...

Each task runs `run_instance` (one `syncbench run` in its own process group). Ctrl-C in the
driver cancels every task: a running one gets a KeyboardInterrupt, which stops its run
(SIGTERM to its process group, so its servers and Toxiproxy go too).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from syncbench.ray_cluster import Cluster, connect_ray, disconnect_ray, ray_module
from syncbench.runner.outcome import ERROR, INTERRUPTED
from syncbench.sweep.instance import STOP_GRACE_S, InstanceJob, InstanceOutcome, run_instance

CANCEL_WAIT_S = STOP_GRACE_S + 10.0
TASK_SLACK_S = 120.0  # past its own timeout (and the stop's grace), a task is cut off


class RayPool:
    def __init__(self, ray: Any, cluster: Cluster, parallel: int) -> None:
        self.ray = ray
        self.cluster = cluster
        self.parallel = parallel
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_instance)

    @classmethod
    def connect(cls, address: str | None = None, parallel: int | None = None) -> RayPool:
        """Connect (or start a local Ray with `parallel` CPUs); ParameterError saying what
        to do when Ray is missing or the cluster cannot be reached."""
        cluster = connect_ray(address, parallel)
        cpus = max(1, int(cluster.cpus))
        return cls(ray_module(), cluster, max(1, min(parallel or cpus, cpus)))

    def __enter__(self) -> RayPool:
        return self

    def __exit__(self, *exc: object) -> None:
        disconnect_ray()

    def run(self, jobs: Sequence[InstanceJob]) -> Iterator[tuple[InstanceJob, InstanceOutcome]]:
        """Run `jobs`, at most `parallel` at once, in order; yield each as it finishes.
        On KeyboardInterrupt: cancel what runs, yield what still finishes within
        CANCEL_WAIT_S, then each unfinished job as INTERRUPTED, then raise it again."""
        queue = list(reversed(jobs))
        running: dict[Any, tuple[InstanceJob, float]] = {}
        try:
            while queue or running:
                while queue and len(running) < self.parallel:
                    job = queue.pop()
                    running[self._remote.remote(job)] = (job, time.monotonic())
                ready, _ = self.ray.wait(list(running), num_returns=1, timeout=1.0)
                for ref in ready:
                    job, _started = running.pop(ref)
                    yield job, self._outcome(ref, job)
                self._cut_off_overdue(running)
        except KeyboardInterrupt:
            yield from self._cancel(running, [*reversed(queue)])
            raise

    def _outcome(self, ref: Any, job: InstanceJob) -> InstanceOutcome:
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.TaskCancelledError:
            return _lost(job, INTERRUPTED, "cancelled")
        except self.ray.exceptions.RayError as exc:  # the worker died, the node went away
            return _lost(job, ERROR, f"the Ray task failed: {_first_line(exc)}")

    def _cut_off_overdue(self, running: dict[Any, tuple[InstanceJob, float]]) -> None:
        now = time.monotonic()
        for ref, (job, started) in list(running.items()):
            if job.timeout_s and now - started > job.timeout_s + STOP_GRACE_S + TASK_SLACK_S:
                self.ray.cancel(ref, force=True)  # its own timeout did not end it

    def _cancel(self, running: dict[Any, tuple[InstanceJob, float]],
                queued: list[InstanceJob]) -> Iterator[tuple[InstanceJob, InstanceOutcome]]:
        for ref in running:
            self.ray.cancel(ref)
        deadline = time.monotonic() + CANCEL_WAIT_S
        while running and time.monotonic() < deadline:
            ready, _ = self.ray.wait(list(running), num_returns=1, timeout=1.0)
            for ref in ready:
                job, _started = running.pop(ref)
                yield job, self._outcome(ref, job)
        for job, _started in running.values():
            yield job, _lost(job, INTERRUPTED, "still running when the sweep was stopped")
        for job in queued:
            yield job, _lost(job, INTERRUPTED, "not started: the sweep was stopped")


def _lost(job: InstanceJob, status: str, reason: str) -> InstanceOutcome:
    return InstanceOutcome(seed=job.seed, status=status, exit_code=None, duration_s=0.0,
                           summary=None, reason=reason)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


__all__ = ["Cluster", "RayPool"]
