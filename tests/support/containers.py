"""Our containers on the Docker engine, for the suite's end-of-run check that none is left."""

from __future__ import annotations

import os
import warnings

from syncbench.containers.engine import OWNER_LABEL, engine_problem, ours


def our_containers() -> dict[str, tuple[str, int]]:
    """id -> (name, owner pid) of every container we started (running or not); {} with no
    engine."""
    if engine_problem(timeout=2.0):
        return {}
    import docker

    try:
        client = docker.from_env(timeout=30)
        try:
            return {c.id: (c.name, int(c.labels.get(OWNER_LABEL, "0") or 0))
                    for c in ours(client)}
        finally:
            client.close()
    except docker.errors.DockerException as exc:  # the hooks must not crash the run
        warnings.warn(f"could not list containers: {exc}", stacklevel=1)
        return {}


def ours_or_orphaned(owner: int, me: int | None = None) -> bool:
    """Whether a container of `owner` belongs to this run (this process `me` or a child of
    it, e.g. a pytest-xdist worker) or to a process that has exited (whoever's: orphaned)."""
    me = os.getpid() if me is None else me
    if owner == me:
        return True
    try:
        stat = open(f"/proc/{owner}/stat").read()  # noqa: SIM115 (one read, closed at exit)
    except OSError:
        return True  # gone: a leftover
    return int(stat.rsplit(")", 1)[1].split()[1]) == me  # its parent


def sweep() -> list[str]:
    """Remove containers whose owner has exited (an earlier run killed before its clean-up);
    their names. Nothing without an engine."""
    import docker

    from syncbench.containers.engine import sweep_orphans

    try:
        return sweep_orphans(timeout=2.0)
    except docker.errors.DockerException as exc:
        warnings.warn(f"could not sweep leftover containers: {exc}", stacklevel=1)
        return []


def remove(ids: set[str]) -> None:
    import docker

    client = docker.from_env(timeout=30)
    try:
        for container_id in ids:
            try:
                client.containers.get(container_id).remove(force=True)
            except docker.errors.DockerException:
                pass  # gone, or being removed by its owner's exit
    finally:
        client.close()
