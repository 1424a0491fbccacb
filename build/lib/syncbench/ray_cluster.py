"""Ray, started or joined once per process: a local Ray on this machine's loopback sized to
its CPUs, or the cluster at `address` (else RAY_ADDRESS). Used by `syncbench sweep` (study
instances as tasks) and by studies that place clients in actors (syncbench.distributed).

    cluster = connect_ray(address=None)   # Cluster(address="local", cpus=2.0, nodes=1)
    ...
    disconnect_ray()                        # stops a local Ray this process started
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from syncbench.params import ParameterError

LOCAL_START_ATTEMPTS = 2
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024  # what passes through it is small


@dataclass(frozen=True)
class Cluster:
    """Where work runs: a local Ray (address "local") or the cluster at `address`."""

    address: str
    cpus: float
    nodes: int

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "cpus": self.cpus, "nodes": self.nodes}


def ray_module() -> Any:
    """The `ray` package; ParameterError saying how to get it."""
    try:
        import ray
    except ImportError:
        raise ParameterError("Ray is not installed: run `make setup` (it installs the "
                             "project's packages, Ray among them)") from None
    return ray


def connect_ray(address: str | None = None, num_cpus: int | None = None) -> Cluster:
    """Join the cluster at `address` (or RAY_ADDRESS), else start a local Ray with
    `num_cpus` (default: this machine's). Already connected: the same cluster.
    ParameterError saying what to do when it cannot."""
    ray = ray_module()
    address = address or os.environ.get("RAY_ADDRESS") or None
    if not ray.is_initialized():
        common: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
        with _python_signal_handlers_kept():
            _init(ray, address, num_cpus, common)
    resources = ray.cluster_resources()
    return Cluster(address or "local", float(resources.get("CPU", 1.0)), len(ray.nodes()))


@contextmanager
def _python_signal_handlers_kept() -> Iterator[None]:
    """Ray's core worker installs its own SIGTERM handler (it logs the signal and dies),
    over ours: a sweep stopped by SIGTERM must stop its runs and write its report, as on
    Ctrl-C. Our handlers are put back once Ray is up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            if handler is not None:
                signal.signal(sig, handler)


def _init(ray: Any, address: str | None, num_cpus: int | None,
          common: dict[str, Any]) -> None:
    try:
        if address:
            ray.init(address=address, **common)
        else:
            _start_local(ray, num_cpus, common)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError...
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        hint = ("check the address (ray://host:10001 for Ray Client, host:6379 on a "
                "node of the cluster) and that the cluster runs" if address
                else "see /tmp/ray/session_latest/logs")
        if address and os.environ.get("RAY_AUTH_MODE") != "token":
            # a head started by `ray start` asks for a token (Ray 2.59 on), which a client
            # sends only in token mode: refused, Ray says so in its log lines, not here
            hint += ("; a cluster with token authentication also needs RAY_AUTH_MODE=token "
                     "here, its token in ~/.ray/auth_token or RAY_AUTH_TOKEN")
        raise ParameterError(f"cannot start or reach {where}: "
                             f"{str(exc).strip() or type(exc).__name__}; {hint}") from None


def _start_local(ray: Any, num_cpus: int | None, common: dict[str, Any]) -> None:
    """A local Ray on this machine's loopback only (nothing leaves the machine), started a
    second time when the first start timed out: on a loaded machine its raylet can give up
    waiting for its own agent process (seen in CI: "timed out during startup", the raylet
    log "Timed out waiting for file .../metrics_agent_port_...")."""
    for attempt in range(LOCAL_START_ATTEMPTS):
        try:
            ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False,
                     _node_ip_address="127.0.0.1",
                     object_store_memory=LOCAL_OBJECT_STORE_BYTES, **common)
            return
        except Exception as exc:
            if attempt + 1 == LOCAL_START_ATTEMPTS or "timed out" not in str(exc).lower():
                raise
            ray.shutdown()  # what the failed start left running


def disconnect_ray() -> None:
    """Leave the cluster (a local Ray this process started stops with it)."""
    ray = ray_module()
    if ray.is_initialized():
        ray.shutdown()


__all__ = ["Cluster", "connect_ray", "disconnect_ray", "ray_module"]
