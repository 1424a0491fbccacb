"""What a Stack starts, as one value object checked on construction (syncbench.stack runs it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TARGETS = ("embedded", "url", "container")
STORES = ("sqlite", "postgresql", "qdrant")
MAX_REPLICAS = 8
_GROUP_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
SERVER = "server"  # the first embedded server's name; replicas are server-1, server-2, ...


def server_names(replicas: int) -> tuple[str, ...]:
    return (SERVER, *(f"{SERVER}-{n}" for n in range(1, replicas)))


class StackError(RuntimeError):
    """The stack could not be started as configured; the message says what to change."""


@dataclass(frozen=True)
class StackConfig:
    """What to start: the target server, the client groups, and the server's options.

    target "embedded" starts `tasksync serve` on 127.0.0.1 with a SQLite file in a temporary
    directory and fault injection on; "url" uses the tasksync-compatible server at `url`
    (faults then still go through a local Toxiproxy in front of it); "container" runs the
    server and Toxiproxy as Docker containers on the host network (syncbench.containers):
    `image` ("" for the tasksync image built for this source by `make containers`), listening on
    127.0.0.1 at `image_port` (0: a free port, given to the image as PORT) and healthy when
    `image_health` answers 200. Our image runs `tasksync serve` with the stack's options;
    another image runs its own command, or `image_command` ("{port}" is the port), and must
    speak tasksync's API, as a server at a url must. Stores and replicas are as embedded.
    `server_options` are extra `tasksync serve` flags, e.g. ("--breaker-threshold", "5").
    `base_profile` names a network profile put on every group's proxy when the stack starts
    and kept for its whole life: the condition a study runs under, not a fault (faults, with
    their windows recorded, go through syncbench.nemesis).
    `fake_clock` starts the embedded server under libfaketime (syncbench.fake_clock), so the
    `clock` fault can move its wall clock; without it the server's clock is the machine's.
    `store` "postgresql" runs the embedded server on PostgreSQL (syncbench.postgres: the
    server `TASKSYNC_DATABASE_URL` names, else one started for the run), and `replicas`
    servers share that database: "server", "server-1", ...; client group i is served by
    replica i % replicas. Each replica reaches the database through a Toxiproxy proxy of
    its own, so one replica's database link can be faulted while the others' are not.
    `store` "qdrant" runs it on Qdrant (syncbench.qdrant says which: the server `QDRANT_URL`
    names, else qdrant-client's local mode in the server's folder), one server.
    """

    target: str = "embedded"
    url: str | None = None
    groups: tuple[str, ...] = ("default",)
    server_options: tuple[str, ...] = ()
    workdir: Path | None = None
    profiles_path: Path | None = None
    start_timeout: float = 30.0
    base_profile: str | None = None
    fake_clock: bool = False
    store: str = "sqlite"
    replicas: int = 1
    image: str = ""
    image_port: int = 0
    image_health: str = "/health"
    image_command: tuple[str, ...] = ()

    @property
    def runs_our_image(self) -> bool:
        """Whether the servers run the tasksync image with our `serve` command (the stack
        then gives it its options); another image runs its own command."""
        from syncbench.containers.images import is_tasksync_image

        return is_tasksync_image(self.image) and not self.image_command

    def __post_init__(self) -> None:
        if self.store not in STORES:
            raise StackError(f"unknown store {self.store!r}; choose one of {', '.join(STORES)}")
        if not 1 <= self.replicas <= MAX_REPLICAS:
            raise StackError(f"replicas must be 1..{MAX_REPLICAS}, got {self.replicas}")
        if self.replicas > 1 and self.store != "postgresql":
            raise StackError("several replicas share one database: give store='postgresql' "
                             "(SQLite and Qdrant serve one server process)")
        if self.target not in TARGETS:
            raise StackError(f"unknown target {self.target!r}; choose one of {', '.join(TARGETS)}")
        if self.store != "sqlite" and self.target == "url":
            raise StackError("store applies to the servers a stack starts (targets embedded "
                             "and container): a server at a url runs on its own store")
        container_only = {"image": self.image, "image_port": self.image_port,
                          "image_command": self.image_command,
                          "image_health": self.image_health != "/health"}
        given = [name for name, value in container_only.items() if value]
        if given and self.target != "container":
            raise StackError(f"{given[0]} applies to target 'container' only")
        if not 0 <= self.image_port <= 65535:
            raise StackError(f"image_port must be 0 (choose one) or 1..65535, got {self.image_port}")
        if self.image_port and self.replicas > 1:
            raise StackError("replicas on the host network need a port each: leave image_port 0")
        if self.fake_clock and self.target == "url":
            raise StackError("fake_clock needs a server this stack starts (target embedded or "
                             "container): only then can libfaketime be preloaded into it")
        if self.target == "container" and not self.runs_our_image and (
                self.store != "sqlite" or self.replicas > 1 or self.fake_clock):
            raise StackError(f"image {self.image!r} runs its own command, so the stack cannot "
                             "give it a store, replicas or a fake clock: leave image empty "
                             "(the tasksync image) or run it with store sqlite, one server "
                             "and no clock fault")
        if self.target == "url" and not self.url:
            raise StackError("target 'url' needs url=http://host:port of a tasksync server")
        if not self.groups:
            raise StackError("a stack needs at least one client group")
        bad = [group for group in self.groups if not _GROUP_NAME.match(group)]
        if bad or len(set(self.groups)) != len(self.groups):
            raise StackError(f"client groups must be distinct names of letters, digits, _ or -: {self.groups}")


__all__ = ["MAX_REPLICAS", "SERVER", "STORES", "TARGETS", "StackConfig", "StackError",
           "server_names"]
