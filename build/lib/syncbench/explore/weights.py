"""The op kinds a generated workload mixes, who makes each, and their default weights.

A kind is what the generator decides to do (`update_stale`, `batch_resend`, ...); the op it
emits names the request made (`update` with `if_match: "stale"`, `batch` with resent items).
Every op carries its kind, so a run's mix can be counted and a weight of 0 shown to exclude
its kind. Four roles make ops: HTTP clients (`c0`, `c1`, ...: the task routes and batch
sync through tasksync.client), replicas (`r0`, ...: tasksync.replica in-process, offline-first),
CLI replicas (`k0`, ...: a `tasksync` process per command on its own replica file) and
WebSocket subscribers (`s0`, ...).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from syncbench.study import StudyParamError

CLIENT, REPLICA, SUBSCRIBER = "client", "replica", "subscriber"
CLI_REPLICA = "cli_replica"
ROLES = (CLIENT, REPLICA, SUBSCRIBER, CLI_REPLICA)

# kind -> (role, default weight). The weights are relative; what they sum to does not matter.
KINDS: dict[str, tuple[str, float]] = {
    # HTTP clients: creates
    "create": (CLIENT, 5.0),                   # server-chosen id
    "create_own_id": (CLIENT, 4.0),            # client-chosen fresh id (sometimes 128 chars)
    "create_colliding_id": (CLIENT, 2.0),      # an id from a pool every client draws from
    "create_other_repository": (CLIENT, 1.0),  # an id this client made, in another repository
    "recreate": (CLIENT, 1.0),                 # the id of a task this client deleted or made
    "max_content": (CLIENT, 1.0),              # content of exactly MAX_CONTENT_CHARS
    # HTTP clients: reads
    "get": (CLIENT, 4.0),
    "list": (CLIENT, 1.5),                     # every page, small page size, while others write
    "changes": (CLIENT, 3.0),                  # the change log from 0, 1, middle, last, beyond
    # HTTP clients: edits
    "update": (CLIENT, 4.0),                   # no If-Match: arrival order
    "update_if_match": (CLIENT, 3.0),          # If-Match: the version this client saw
    "update_stale": (CLIENT, 1.5),             # If-Match: an older version (412 expected)
    "delete": (CLIENT, 1.5),
    "delete_if_match": (CLIENT, 1.0),
    # HTTP clients: batch sync (tasksync.client.BatchClient)
    "batch": (CLIENT, 5.0),                    # new and known tasks, change ids "1", "2", ...
    "batch_resend": (CLIENT, 2.0),             # earlier items again, regrouped: a retry
    "batch_reused_change_id": (CLIENT, 1.0),   # another change under a used change id
    "batch_empty": (CLIENT, 1.0),              # no items: a pull
    "equal_timestamps": (CLIENT, 1.0),         # a batch whose items share one updated_at
    # HTTP clients: idempotency keys
    "retry_write": (CLIENT, 2.0),              # an earlier write again, same Idempotency-Key
    "shared_key": (CLIENT, 2.0),               # a key counted "1", "2", ... as others count
    # HTTP clients: requests PROTOCOL.md refuses, and the reads outside the API (gates.py)
    "gate": (CLIENT, 2.0),
    # replicas (tasksync.replica in-process)
    "local_create": (REPLICA, 3.0),
    "local_update": (REPLICA, 4.0),
    "local_delete": (REPLICA, 1.0),
    "shared_edit": (REPLICA, 2.0),             # several replicas edit one task
    "sync": (REPLICA, 4.0),
    "offline_burst": (REPLICA, 0.4),           # offline, several writes (a sync fails), online, sync
    # WebSocket subscribers
    "subscribe": (SUBSCRIBER, 3.0),            # a new connection from a chosen position
    "resume": (SUBSCRIBER, 3.0),               # a new connection from the last seq delivered
    "resume_storm": (SUBSCRIBER, 2.5),         # replays one after another under the writers
    "replay_under_writes": (SUBSCRIBER, 1.0),  # the whole retained log replayed while this
                                               # subscriber writes: the replay/live seam
    "unsubscribe": (SUBSCRIBER, 0.6),
    "ws_gate": (SUBSCRIBER, 0.4),              # a message the server must refuse (gates.py)
    # CLI replicas: a `tasksync` process per command (explore/cli_actor.py)
    "cli_add": (CLI_REPLICA, 1.0),             # `add`, sometimes with its own --id
    "cli_edit": (CLI_REPLICA, 1.2),            # `edit` or `done`: own or pulled task, id prefix
    "cli_rm": (CLI_REPLICA, 0.6),
    "cli_list": (CLI_REPLICA, 0.5),            # `list --json [--all]`
    "cli_sync": (CLI_REPLICA, 0.8),            # `sync --strategy S` (manual sometimes)
    "cli_resolve": (CLI_REPLICA, 0.6),         # the shared task edited, a manual sync, then
                                               # `conflicts` and `resolve --keep` when any
    "cli_watch": (CLI_REPLICA, 0.6),           # `watch --seconds S` while others write
}

DEFAULT_WEIGHTS: dict[str, float] = {kind: weight for kind, (_, weight) in KINDS.items()}


def role_of_kind(kind: str) -> str:
    """The role (client, replica, subscriber, cli_replica) that makes ops of `kind`."""
    return KINDS[kind][0]


def resolve_weights(weights: Mapping[str, float] | None, name: str = "weights") -> dict[str, float]:
    """The defaults overridden by `weights`; StudyParamError naming the bad entry otherwise.

    A weight is a finite number of 0 or more; 0 excludes its kind. At least one kind must
    keep a weight above 0.
    """
    given = dict(weights or {})
    unknown = sorted(set(given) - set(KINDS))
    if unknown:
        raise StudyParamError(name, given, f"weights for known op kinds only (not "
                              f"{', '.join(unknown)}); the kinds are {', '.join(KINDS)}")
    merged = dict(DEFAULT_WEIGHTS)
    for kind, weight in given.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) \
                or not math.isfinite(weight) or weight < 0:
            raise StudyParamError(name, given, f"a finite number of 0 or more for each kind "
                                  f"(0 excludes it), not {weight!r} for {kind!r}")
        merged[kind] = float(weight)
    if not any(weight > 0 for weight in merged.values()):
        raise StudyParamError(name, given, "at least one op kind with a weight above 0")
    return merged


__all__ = ["CLIENT", "CLI_REPLICA", "DEFAULT_WEIGHTS", "KINDS", "REPLICA", "ROLES", "SUBSCRIBER",
           "resolve_weights", "role_of_kind"]
