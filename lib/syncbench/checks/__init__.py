"""syncbench.checks: invariants over a run's history and final states, one small module each.

Every check returns a CheckResult (syncbench.verdict) whose counterexample, on failure,
holds only what shows the failure:

    convergence                      all holders hold identical tasks
    no_lost_acknowledged_writes      every `ok` write is reflected in the final state
    no_duplicates_from_retries       one logical create never yields two tasks
    subscribers_saw_every_event      each subscriber saw its events once, in seq order
    conflicts_reported_once          each conflict reported once, whole, right winner
    breaker_followed_state_machine   closed -> open -> half_open -> closed | open only
"""

from syncbench.checks.breaker import ALLOWED_TRANSITIONS, breaker_followed_state_machine
from syncbench.checks.conflicts import WINNERS, conflicts_reported_once, expected_winner
from syncbench.checks.convergence import convergence
from syncbench.checks.deliveries import DELIVERY_COLUMNS, subscribers_saw_every_event
from syncbench.checks.duplicates import (
    CREATE_OPERATIONS,
    create_key,
    no_duplicates_from_retries,
    task_content,
)
from syncbench.checks.lost_writes import WRITE_OPERATIONS, no_lost_acknowledged_writes

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CREATE_OPERATIONS",
    "DELIVERY_COLUMNS",
    "WINNERS",
    "WRITE_OPERATIONS",
    "breaker_followed_state_machine",
    "conflicts_reported_once",
    "convergence",
    "create_key",
    "expected_winner",
    "no_duplicates_from_retries",
    "no_lost_acknowledged_writes",
    "subscribers_saw_every_event",
    "task_content",
]
