"""What the sync study takes: its parameters, their defaults and help, and their rules."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from syncbench.explore import resolve_weights
from syncbench.nemesis import fault_kind, parse_schedule
from syncbench.profiles import ProfileError, get_profile, load_profiles
from syncbench.stack_config import MAX_REPLICAS, server_names
from syncbench.study import StudyParamError, StudyParams, param, require
from tasksync.models import STRATEGIES

WRITE_KINDS = ("create", "update", "delete")
# "manual" leaves conflicts open until a person resolves them: replicas would never converge.
SYNC_STRATEGIES = tuple(strategy for strategy in STRATEGIES if strategy != "manual")
DEFAULT_MIX: Mapping[str, float] = {"create": 0.4, "update": 0.45, "delete": 0.15}


def replica_group(index: int) -> str:
    """The proxy group of replica `index` (a fault's target)."""
    return f"replica-{index}"


def subscriber_group(index: int) -> str:
    """The proxy group of subscriber `index` (a fault's target)."""
    return f"subscriber-{index}"


def client_group(index: int) -> str:
    """The proxy group of HTTP client `index` of a generated workload (a fault's target)."""
    return f"client-{index}"


def cli_group(index: int) -> str:
    """The proxy group of CLI replica `index` of a generated workload (a fault's target)."""
    return f"cli-{index}"


def group_of(client: str) -> str:
    """The proxy group of a generated workload's client: c<i>, r<i>, s<i> or k<i>."""
    makers = {"c": client_group, "r": replica_group, "s": subscriber_group, "k": cli_group}
    return makers[client[:1]](int(client[1:]))


WORKLOADS = ("generated", "nominal")


@dataclass(frozen=True)
class SyncParams(StudyParams):
    """What the sync study runs. Types are checked on construction; `validate` the rest."""

    profiles: tuple[str, ...] = param(("lan", "wan"), "network profiles (params/profiles.yaml), "
                                                      "a fresh stack each")
    replicas: int = param(3, "CLI replicas, each behind its own proxy")
    subscribers: int = param(2, "WebSocket subscribers, each behind its own proxy")
    repositories: int = param(1, "replicas are spread round-robin over these repositories")
    operations_per_replica: int = param(20, "nominal workload: local creates/updates/deletes "
                                            "per replica")
    mix: dict[str, float] = param(dict(DEFAULT_MIX), "nominal workload: weights of the writes "
                                                     "(create, update, delete)")
    sync_every: float = param(3.0, "nominal workload: mean local writes between two periodic "
                                   "syncs of a replica")
    think_s: float = param(0.05, "mean pause (s) before each step of a replica (exponential)")
    offline_replicas: int = param(1, "nominal workload: replicas that go offline once (an "
                                     "`offline` fault on their proxy)")
    offline_s: float = param(0.4, "seconds each offline replica (generated: the first HTTP "
                                  "client) stays offline")
    subscriber_outage_s: float = param(0.5, "seconds each subscriber is cut off once (0: never)")
    subscriber_actors: int = param(0, "nominal workload: Ray actors the subscribers are spread "
                                      "over (0: the study's own process); each actor's clock "
                                      "offset is measured and recorded")
    ray_address: str = param("", "the Ray cluster for subscriber_actors (empty: RAY_ADDRESS, "
                                 "else a local Ray on this machine)")
    workload: str = param("generated", "generated: a seeded mix of everything the protocol "
                                       "allows (syncbench.explore); nominal: the replicas' "
                                       "plain create/update/delete mix (`mix`)")
    operations: list[dict] = param([], "generated workload: play exactly these operations "
                                       "instead of generating them (replay, shrinking)")
    weights: dict[str, float] = param({}, "generated workload: weights of op kinds over "
                                          "syncbench.explore.DEFAULT_WEIGHTS (0 excludes one)")
    generated_operations: int = param(600, "generated workload: operations to generate")
    log_retention: int = param(120, "generated workload: events each repository's change "
                                    "log keeps (tasksync serve --log-retention; 0 keeps all): "
                                    "readers further behind must resync")
    ws_replay_page: int = param(10, "generated workload: events the server reads per storage "
                                    "call while replaying to a subscriber (tasksync serve "
                                    "--ws-replay-page): long replays take many")
    max_body_bytes: int = param(1_048_576, "generated workload: the server's request body "
                                           "limit (tasksync serve --max-body-bytes); the "
                                           "body_too_large gate probe sends one byte more")
    replica_pull_limit: int = param(40, "generated workload: events a replica pulls per "
                                        "round trip (more wait for the next: has_more)")
    shrink_budget_s: float = param(90.0, "generated workload: seconds to spend shrinking a "
                                         "failing run to a minimal one (0: do not shrink)")
    http_clients: int = param(3, "generated workload: HTTP clients (task routes and batch "
                                 "sync), each behind its own proxy")
    cli_replicas: int = param(1, "generated workload: CLI replicas (k0, ...), each a "
                                 "`tasksync` process per command on its own replica file, "
                                 "behind its own proxy (0: none)")
    strategy: str = param("server_wins", "conflict strategy: server_wins, client_wins, "
                                         "last_write_wins, merge")
    servers: int = param(1, "server replicas on one database (store: postgresql for more "
                            "than 1); client group i reaches server i % servers")
    converge_timeout_s: float = param(30.0, "deadline for the final sync rounds to converge")
    delivery_timeout_s: float = param(10.0, "deadline for subscribers to catch up at the end")

    study_name = "sync"

    def validate(self) -> None:
        self._validate_profiles()
        require(self.replicas >= 1, "replicas", self.replicas, "1 or more")
        require(self.subscribers >= 0, "subscribers", self.subscribers, "0 or more")
        require(1 <= self.repositories <= self.replicas, "repositories", self.repositories,
                f"1 to replicas={self.replicas} (every repository needs a replica)")
        require(self.operations_per_replica >= 1, "operations_per_replica",
                self.operations_per_replica, "1 or more")
        unknown = sorted(set(self.mix) - set(WRITE_KINDS))
        require(not unknown, "mix", self.mix, f"weights for {', '.join(WRITE_KINDS)} only "
                f"(not {', '.join(unknown)})")
        require(all(weight >= 0 for weight in self.mix.values()), "mix", self.mix,
                "weights of 0 or more")
        require(self.mix.get("create", 0) > 0, "mix", self.mix,
                "a 'create' weight above 0 (updates and deletes need tasks)")
        require(self.sync_every >= 1, "sync_every", self.sync_every, "1 or more")
        require(self.think_s >= 0, "think_s", self.think_s, "0 or more seconds")
        require(0 <= self.offline_replicas <= self.replicas, "offline_replicas",
                self.offline_replicas, f"0 to replicas={self.replicas}")
        require(0 < self.offline_s <= 3600, "offline_s", self.offline_s,
                "seconds above 0 (at most an hour)")
        require(0 <= self.subscriber_outage_s <= 3600, "subscriber_outage_s",
                self.subscriber_outage_s, "0 (never) or more seconds (at most an hour)")
        require(0 <= self.subscriber_actors <= 256, "subscriber_actors",
                self.subscriber_actors, "0 (subscribers in the study's process) to 256 Ray "
                "actors")
        require(self.subscriber_actors == 0 or self.workload == "nominal", "subscriber_actors",
                self.subscriber_actors, "0 with the generated workload (its subscribers play "
                "their schedule in the study's process); set workload: nominal to spread "
                "subscribers over Ray actors")
        require(self.strategy in SYNC_STRATEGIES, "strategy", self.strategy,
                f"one of {', '.join(SYNC_STRATEGIES)} ('manual' never converges without a "
                "person resolving)")
        for name in ("converge_timeout_s", "delivery_timeout_s"):
            value = getattr(self, name)
            require(value > 0 and math.isfinite(value), name, value, "seconds above 0")
        require(1 <= self.servers <= MAX_REPLICAS, "servers", self.servers,
                f"1 to {MAX_REPLICAS} server replicas")
        require(self.servers == 1 or self.store == "postgresql", "servers", self.servers,
                "1 with store sqlite (one server per file); set store: postgresql for replicas")
        self._validate_schedule()
        self._validate_generated()

    def _validate_generated(self) -> None:
        require(self.workload in WORKLOADS, "workload", self.workload,
                f"one of {', '.join(WORKLOADS)}")
        require(self.generated_operations >= 1, "generated_operations",
                self.generated_operations, "1 or more")
        require(self.http_clients >= 0, "http_clients", self.http_clients, "0 or more")
        require(self.log_retention >= 0, "log_retention", self.log_retention,
                "0 (keep every event) or more events")
        require(1 <= self.ws_replay_page <= 10_000, "ws_replay_page", self.ws_replay_page,
                "1 to 10000 events")
        require(262_144 <= self.max_body_bytes <= 33_554_432, "max_body_bytes",
                self.max_body_bytes, "256 KiB (room for the largest batch a client sends) to "
                "32 MiB")
        require(1 <= self.replica_pull_limit <= 10_000, "replica_pull_limit",
                self.replica_pull_limit, "1 to 10000 events")
        require(self.cli_replicas >= 0, "cli_replicas", self.cli_replicas, "0 or more")
        require(0 <= self.shrink_budget_s <= 24 * 3600 and math.isfinite(self.shrink_budget_s),
                "shrink_budget_s", self.shrink_budget_s, "0 (do not shrink) to 86400 seconds")
        resolve_weights(self.weights)
        counts = {"c": self.http_clients, "r": self.replicas, "s": self.subscribers,
                  "k": self.cli_replicas}
        for index, op in enumerate(self.operations):
            ok = isinstance(op, dict) and {"step", "client", "op"} <= set(op)
            require(ok, "operations", self.operations, f"operation {index}: a mapping with "
                    "step, client and op (as a generated run's `workload` frame holds)")
            client = str(op["client"])
            role, number = client[:1], client[1:]
            require(role in counts and number.isdigit() and int(number) < counts[role],
                    "operations", self.operations,
                    f"operation {index}: a client among c0..c{self.http_clients - 1}, "
                    f"r0..r{self.replicas - 1}, s0..s{self.subscribers - 1}, "
                    f"k0..k{self.cli_replicas - 1}, not {client!r}")

    def _validate_profiles(self) -> None:
        require(bool(self.profiles), "profiles", self.profiles,
                "at least one network profile, e.g. ['lan']")
        require(len(set(self.profiles)) == len(self.profiles), "profiles", self.profiles,
                "each profile once")
        known = load_profiles()
        for name in self.profiles:
            try:
                profile = get_profile(name, known)
            except ProfileError as exc:
                raise StudyParamError("profiles", self.profiles, str(exc)) from None
            require(not profile.outage, "profiles", self.profiles,
                    f"network conditions, not an outage ({name!r}); the study cuts replicas "
                    "and subscribers off itself (offline_replicas, subscriber_outage_s)")

    def _validate_schedule(self) -> None:
        """A given schedule must name this study's groups and phases (the profiles)."""
        servers = set(server_names(self.servers))
        targets_of = {"client": {f"k{index}" for index in range(self.cli_replicas)},
                      "server": servers, "database_link": servers, "database": {"database"}}
        for index, fault in enumerate(parse_schedule(self.schedule).faults):
            targets = targets_of.get(fault_kind(fault.kind).target_kind, set(self.groups))
            require(fault.target in targets, "schedule",
                    self.schedule, f"window {index}: a target among "
                    f"{', '.join(sorted(targets)) or 'none'}, not {fault.target!r}")
            require(fault.phase is None or fault.phase in self.profiles, "schedule",
                    self.schedule, f"window {index}: a phase among the profiles "
                    f"({', '.join(self.profiles)}) or none, not {fault.phase!r}")

    def server_of(self, client: str) -> str | None:
        """The server a workload client (c0, r1, s2, w2 beside s2, k0) reaches: client
        group i reaches server i % servers; None for a name that is no client here."""
        if not client[:1] or client[0] not in "crswk" or not client[1:].isdigit():
            return None
        group = group_of(f"s{client[1:]}" if client[0] == "w" else client)
        if group not in self.groups:
            return None
        names = server_names(self.servers)
        return names[self.groups.index(group) % len(names)]

    def extra_server_options(self) -> tuple[str, ...]:
        """`tasksync serve` options a study derived from this one adds (none here)."""
        return ()

    @property
    def generated(self) -> bool:
        """Whether the run plays a generated workload (or the given `operations`)."""
        return self.workload == "generated"

    @property
    def groups(self) -> tuple[str, ...]:
        """Every proxy group of a profile's stack: one per replica, one per subscriber, and
        with a generated workload one per HTTP client and one per CLI replica."""
        clients = ((*map(client_group, range(self.http_clients)),
                    *map(cli_group, range(self.cli_replicas))) if self.generated else ())
        return (*map(replica_group, range(self.replicas)),
                *map(subscriber_group, range(self.subscribers)), *clients)


__all__ = ["DEFAULT_MIX", "SYNC_STRATEGIES", "WORKLOADS", "WRITE_KINDS", "SyncParams",
           "cli_group", "client_group", "group_of", "replica_group", "subscriber_group"]
