"""syncbench.checks: invariants over a run's history and final states, one small module each.

Every check returns a CheckResult (syncbench.verdict) whose counterexample, on failure,
holds only what shows the failure:

    convergence                      all holders hold identical tasks
    no_lost_acknowledged_writes      every `ok` write is reflected in the final state
    no_duplicates_from_retries       one logical create never yields two tasks
    subscribers_saw_every_event      each subscriber saw its events once, in seq order
    conflicts_reported_once          each conflict reported once, whole, right winner
    breaker_followed_state_machine   closed -> open -> half_open -> closed | open only
    read_your_writes, monotonic_reads,
    monotonic_writes,                each client's session guarantees (Terry et al.),
    writes_follow_reads              from session_guarantees(observations)
    change_feed                      no event lost, never seen, skipped (gap), out of order,
                                     duplicated or unexpected, per subscriber and repository
    response_integrity               every reply carries the request's own task, repository
                                     and client
    conditional_writes               an ok If-Match write applied to the version it named, once
    gates_answer_as_documented       bad input got the documented status, error and field, and
                                     a refused write wrote nothing
    time_to_stable                   each written task became alike on every holder; seconds
                                     from its last write, as a distribution (time_to_stable)
    replica_matches_server           a replica matched the server after each sync that left
                                     nothing pending (or a write in flight explains it)
    errors_only_under_faults         a 5xx, a broken connection or a retry only where a fault
                                     the run put on explains it
"""

from syncbench.checks.breaker import ALLOWED_TRANSITIONS, breaker_followed_state_machine
from syncbench.checks.conditional import conditional_writes
from syncbench.checks.conflicts import WINNERS, conflicts_reported_once, expected_winner
from syncbench.checks.convergence import convergence
from syncbench.checks.deliveries import DELIVERY_COLUMNS, subscribers_saw_every_event
from syncbench.checks.duplicates import (
    CREATE_OPERATIONS,
    content_key,
    create_key,
    no_duplicates_from_retries,
    task_content,
)
from syncbench.checks.feeds import change_feed
from syncbench.checks.gates import gates_answer_as_documented
from syncbench.checks.integrity import response_integrity
from syncbench.checks.lost_writes import WRITE_OPERATIONS, no_lost_acknowledged_writes
from syncbench.checks.sessions import GUARANTEES, session_guarantees
from syncbench.checks.stability import (
    STABILITY_COLUMNS,
    TimeToStable,
    replica_matches_server,
    time_to_stable,
)
from syncbench.checks.trouble import errors_only_under_faults

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CREATE_OPERATIONS",
    "DELIVERY_COLUMNS",
    "GUARANTEES",
    "STABILITY_COLUMNS",
    "WINNERS",
    "WRITE_OPERATIONS",
    "TimeToStable",
    "breaker_followed_state_machine",
    "change_feed",
    "conditional_writes",
    "conflicts_reported_once",
    "content_key",
    "convergence",
    "create_key",
    "errors_only_under_faults",
    "expected_winner",
    "gates_answer_as_documented",
    "no_duplicates_from_retries",
    "no_lost_acknowledged_writes",
    "replica_matches_server",
    "response_integrity",
    "session_guarantees",
    "subscribers_saw_every_event",
    "task_content",
    "time_to_stable",
]
