"""syncbench.explore: generated workloads, the operation schedules real clients would make.

    weights    the op kinds, the role making each, their default weights
    generate   `generate(params, seed)`: the seeded operation schedule (plain dicts)
    client_schedule   the HTTP clients' part of it
    replica_schedule  the replicas' and subscribers' part
    cli_schedule      the CLI replicas' part (`tasksync` commands)
    records    the frames a run fills (observations, deliveries, subscriptions, ...)
    feed       a WebSocket subscriber that records every event it receives, per connection
    cli_actor  a CLI replica: a `tasksync` process per command (cli_process runs one)
    driver     `run_schedule`: a schedule played on a Stack, each op in the History
"""

from syncbench.explore.generate import (
    EQUAL_TIME,
    Shape,
    cli_repository,
    client_names,
    generate,
    op_counts,
    replica_repository,
    repository_names,
    shape_of,
)
from syncbench.explore.weights import DEFAULT_WEIGHTS, KINDS, resolve_weights, role_of_kind

__all__ = ["DEFAULT_WEIGHTS", "EQUAL_TIME", "KINDS", "Shape", "cli_repository", "client_names",
           "generate", "op_counts", "replica_repository", "repository_names", "resolve_weights",
           "role_of_kind", "shape_of"]
