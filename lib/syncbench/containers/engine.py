"""The Docker engine the container target uses: whether one answers (and why not), our
labels, and the clean-up testcontainers' reaper would otherwise do.

Testcontainers' reaper (Ryuk) is an image pulled from a registry, and none is reachable on
these machines, so it is switched off here and every container we start carries labels
instead: `syncbench` (what it is) and `syncbench.owner` (the pid of the process that
started it). A container is removed when its owner stops it or exits (atexit), and
`sweep_leftovers` removes those whose owner died without doing so (a killed test run).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LABEL = "syncbench"  # value: what the container is ("server", "toxiproxy", ...)
OWNER_LABEL = "syncbench.owner"  # value: the pid of the process that started it
ENGINE_TIMEOUT_S = 5.0
HOW_TO_GET_AN_ENGINE = ("run `make setup` as root (it installs Debian's docker.io and starts "
                        "dockerd), or start a Docker engine and set DOCKER_HOST")


class EngineUnavailable(RuntimeError):
    """No Docker engine answers; the message says why and what to do."""


def reaper_off() -> None:
    """Switch testcontainers' reaper off (its image cannot be pulled here): we clean up."""
    os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"
    try:
        from testcontainers.core.config import testcontainers_config
    except ImportError:
        return
    testcontainers_config.ryuk_disabled = True


def engine_problem(timeout: float = ENGINE_TIMEOUT_S, base_url: str | None = None) -> str:
    """Why no Docker engine can be used here, in one line; "" when one answers a ping (at
    `base_url`, else where DOCKER_HOST or the default socket says)."""
    try:
        import docker
    except ImportError:
        return "the docker package is not installed (make setup installs it)"
    try:
        client = (docker.DockerClient(base_url=base_url, timeout=timeout) if base_url
                  else docker.from_env(timeout=timeout))
    except Exception as exc:  # noqa: BLE001 (no socket, bad DOCKER_HOST, ...)
        return f"no Docker engine answers ({_first_line(exc)})"
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        return f"the Docker engine does not answer a ping ({_first_line(exc)})"
    finally:
        client.close()
    return ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160]}" if text else type(exc).__name__


@contextmanager
def engine(timeout: float = 60.0) -> Iterator[Any]:
    """A docker client for the engine; EngineUnavailable (with what to do) when none answers."""
    problem = engine_problem()
    if problem:
        raise EngineUnavailable(f"{problem}; to fix, {HOW_TO_GET_AN_ENGINE}")
    import docker

    client = docker.from_env(timeout=timeout)
    try:
        yield client
    finally:
        client.close()


def labels(kind: str) -> dict[str, str]:
    """The labels of a container of `kind` started by this process."""
    return {LABEL: kind, OWNER_LABEL: str(os.getpid())}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def ours(client: Any, *, running_only: bool = False) -> list[Any]:
    """Every container we started on the engine (running or not, unless `running_only`):
    those with an owner label (a build's own containers have none)."""
    # ignore_removed: another process may remove one between the listing and its inspection
    return client.containers.list(all=not running_only, filters={"label": OWNER_LABEL},
                                  ignore_removed=True)


def sweep_leftovers(client: Any) -> list[str]:
    """Remove our containers whose owner process is gone; the names removed.

    Owners are pids on this machine: the engine is local (host networking only)."""
    removed = []
    for container in ours(client):
        owner = container.labels.get(OWNER_LABEL, "")
        if owner.isdigit() and _alive(int(owner)):
            continue
        try:
            container.remove(force=True)
        except Exception:  # noqa: BLE001,S112 (gone already, or being removed)
            continue
        removed.append(container.name)
    return removed


def sweep_orphans(timeout: float = ENGINE_TIMEOUT_S) -> list[str]:
    """`sweep_leftovers` on the engine when one answers (nothing otherwise: whoever starts a
    container says why there is none); the names removed."""
    if engine_problem(timeout=timeout):
        return []
    with engine(timeout=30) as client:
        return sweep_leftovers(client)


__all__ = ["ENGINE_TIMEOUT_S", "HOW_TO_GET_AN_ENGINE", "LABEL", "OWNER_LABEL",
           "EngineUnavailable", "engine", "engine_problem", "labels", "ours", "reaper_off",
           "sweep_leftovers", "sweep_orphans"]
