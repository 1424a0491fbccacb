"""Our containers on the Docker engine, for the suite's end-of-run check that none is left."""

from __future__ import annotations

from syncbench.containers.engine import LABEL, engine_problem


def our_containers() -> dict[str, str]:
    """id -> name of every container with our label (running or not); {} with no engine."""
    if engine_problem(timeout=2.0):
        return {}
    import docker

    client = docker.from_env(timeout=30)
    try:
        return {c.id: c.name for c in client.containers.list(all=True, filters={"label": LABEL})}
    finally:
        client.close()


def remove(ids: set[str]) -> None:
    import docker

    client = docker.from_env(timeout=30)
    try:
        for container_id in ids:
            try:
                client.containers.get(container_id).remove(force=True)
            except docker.errors.NotFound:
                pass
    finally:
        client.close()
