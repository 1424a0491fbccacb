"""Where a stack's Qdrant comes from, in this order: the server `QDRANT_URL` names; a
`qdrant/qdrant` container (testcontainers) when a Docker engine answers and has or can pull
the image; else qdrant-client's embedded local mode in the server's folder, which is what
runs on machines with no image registry. The server is given the same `--store qdrant`
either way; `RunQdrant.description` says plainly which one ran.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

from syncbench.machine import free_port
from syncbench.toxiproxy.server import docker_engine_answers
from tasksync.store.opening import QDRANT_PREFIX_ENV, QDRANT_URL_ENV

IMAGE = "qdrant/qdrant:v1.15.4"


@dataclass
class RunQdrant:
    """The Qdrant of one stack: the server options and environment its servers get."""

    source: str  # "QDRANT_URL", "container" or "local mode"
    url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    why_not_container: str = ""
    _container: Any = None

    @property
    def description(self) -> str:
        if self.source == "local mode":
            return (f"qdrant local mode (qdrant-client, embedded in the server process; "
                    f"no Qdrant server: {self.why_not_container})")
        return f"qdrant server at {self.url} ({self.source})"

    def stop(self) -> None:
        """Drop this run's collections from a shared server, stop its container."""
        prefix = self.env.get(QDRANT_PREFIX_ENV)
        if self.url and prefix and self._container is None:
            with contextlib.suppress(Exception):  # best effort: the server may be gone
                _drop_collections(self.url, prefix)
        if self._container is not None:
            self._container.stop()
            self._container = None


def start_qdrant() -> RunQdrant:
    """The Qdrant for a stack whose servers are told `--store qdrant` (see module doc)."""
    run_id = uuid.uuid4().hex[:12]
    url = os.environ.get(QDRANT_URL_ENV)
    if url:
        # a server shared with others: this stack's collections under a prefix of its own
        return RunQdrant("QDRANT_URL", url, {QDRANT_URL_ENV: url,
                                             QDRANT_PREFIX_ENV: f"syncbench_{run_id}_"})
    container, port, why_not = _container()
    if container is not None:
        host_url = f"http://127.0.0.1:{port}"
        return RunQdrant("container", host_url, {QDRANT_URL_ENV: host_url,
                                                 QDRANT_PREFIX_ENV: f"syncbench_{run_id}_"},
                         _container=container)
    # local mode: the server's own folder; a QDRANT_URL in our environment must not leak in
    return RunQdrant("local mode", env={QDRANT_URL_ENV: ""}, why_not_container=why_not)


def _container() -> tuple[Any, int, str]:
    """A running Qdrant container on the host network (its HTTP port free on 127.0.0.1),
    or None and why not."""
    if not docker_engine_answers():
        return None, 0, "no Docker engine answers"
    import docker

    engine = docker.from_env(timeout=3)
    try:
        engine.images.get(IMAGE)
    except Exception:  # noqa: BLE001
        try:
            engine.images.pull(IMAGE)
        except Exception as exc:  # noqa: BLE001 (no registry reachable)
            return None, 0, f"Docker cannot get {IMAGE} ({type(exc).__name__}: no registry?)"
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    from syncbench.containers.engine import labels, reaper_off

    reaper_off()  # its image cannot be pulled here; our labels and stop() clean up
    http, grpc = free_port(), free_port()
    container = (DockerContainer(IMAGE).with_kwargs(network="host", labels=labels("qdrant"))
                 .with_env("QDRANT__SERVICE__HOST", "127.0.0.1")
                 .with_env("QDRANT__SERVICE__HTTP_PORT", str(http))
                 .with_env("QDRANT__SERVICE__GRPC_PORT", str(grpc)))
    container.start()
    try:
        wait_for_logs(container, "Qdrant HTTP listening", timeout=60)
    except BaseException:
        container.stop()
        raise
    return container, http, ""


def _drop_collections(url: str, prefix: str) -> None:
    from qdrant_client import QdrantClient

    client = QdrantClient(url=url, api_key=os.environ.get("QDRANT_API_KEY"), timeout=10)
    try:
        for collection in client.get_collections().collections:
            if collection.name.startswith(prefix):
                client.delete_collection(collection.name)
    finally:
        client.close()


__all__ = ["IMAGE", "RunQdrant", "start_qdrant"]
