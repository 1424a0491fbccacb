"""The bug zoo: every deliberate defect of server, client and replica, and its switch.

Each seeded bug is a realistic defect of the kind that shipped in real sync engines. It is
dormant unless switched on, and then changes only what its summary says. syncbench's
`zoo` runs every study against every bug, to show which checks catch which defects.

How a bug is switched on:
- server bugs: `tasksync serve --seeded-bug NAME` (repeatable), i.e. ServerConfig.seeded_bugs;
  server code receives them through its config, never from this process's switches;
- client and replica bugs: `enable([NAME])` in the process that runs the client or replica,
  the environment variable TASKSYNC_SEEDED_BUGS (comma-separated names; child processes
  inherit it), or the `tasksync --seeded-bug NAME` CLI option. The code at the defect asks
  `active(NAME)`.

`active()` sits on hot paths (every retry, every WebSocket event), so the environment
variable is parsed once and cached; `enable()` updates the cache and the variable together.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

logger = logging.getLogger(__name__)

ENV_VAR = "TASKSYNC_SEEDED_BUGS"
COMPONENTS = ("server", "client", "replica")


@dataclass(frozen=True)
class SeededBug:
    """One deliberate defect: where it lives, what it breaks, what should catch it."""

    name: str
    component: str  # "server" | "client" | "replica"
    area: str
    summary: str  # the defect, as a release note would describe it
    caught_by: tuple[str, ...]  # the check classes expected to catch it
    studies: tuple[str, ...]  # the studies expected to catch it at default parameters
    # caught only when a race is won (a write landing in a short window): a run can miss it
    racy: bool = False
    # met only by seeds whose generated workload makes its trigger: a sweep's failure rate
    some_seeds: bool = False


_ALL = (
    # -- server ---------------------------------------------------------------------------
    SeededBug("ignore_idempotency", "server", "idempotency scope and transactions",
              "the server ignores Idempotency-Key: a retried write is applied again",
              ("no_duplicates_from_retries",), ("resilience",)),
    SeededBug("skip_event", "server", "change feed",
              "the WebSocket hub drops one live event in seven",
              ("subscribers_saw_every_event", "change_feed"), ("sync",)),
    SeededBug("blind_overwrite", "server", "conflict rules and tie-breaks",
              "batch sync applies a stale change over a newer server version instead of "
              "reporting a conflict",
              ("no_silently_lost_changes", "expected_conflicts_reported",
               "winner_matches_strategy"), ("conflicts",)),
    SeededBug("error_after_commit", "server", "retry timing and key reuse",
              "one write in nine is committed, then answering it fails with a 500: clients "
              "retry with their key and get the stored reply, so only the retries show it",
              ("errors_only_under_faults",), ("sync",)),
    SeededBug("ack_before_commit", "server", "durability",
              "writes are answered (and their events sent) before their transaction "
              "commits, and committed 200 ms later: a crash in between loses writes the "
              "clients were told are done",
              ("no_lost_acknowledged_writes",), ("crash",)),
    SeededBug("status_checked_after_write", "server", "idempotency scope and transactions",
              "a create or update with an unknown status is written with the other fields "
              "first, then refused with 422: the client is told nothing happened",
              ("gates_answer_as_documented",), ("sync",)),
    SeededBug("resume_off_by_one", "server", "resume and replay",
              "a WebSocket subscribe/resume with after=N replays from seq N+2: the first "
              "missed event is skipped",
              ("change_feed",), ("sync",)),
    SeededBug("replay_live_race", "server", "resume and replay",
              "on subscribe the server joins live delivery only after sending the replay, "
              "from the log's end as read then: events committed while it replayed are "
              "never sent",
              ("change_feed",), ("sync",), racy=True),
    SeededBug("page_token_skip", "server", "cursors and paging",
              "GET /tasks paging: the next page starts one task after where it should "
              "(one task per page boundary is never listed)",
              ("read_your_writes",), ("sync",)),
    SeededBug("prune_without_resync", "server", "cursors and pruning",
              "when the log was pruned past a reader's position the server replays what is "
              "left instead of sending resync_required; the changes route reports no gap",
              ("change_feed", "convergence"), ("sync",)),
    SeededBug("idempotency_key_scope", "server", "idempotency scope and transactions",
              "the Idempotency-Key cache is keyed by the key alone (not by client, route or "
              "body): two clients that use the same key get each other's stored reply",
              ("response_integrity",), ("sync",)),
    SeededBug("stale_read_cache", "server", "reads and caching",
              "GET /tasks/{id} is served from a cache of up to 2 s that writes do not "
              "invalidate",
              ("read_your_writes", "monotonic_reads"), ("sync",)),
    SeededBug("lww_tie_client", "server", "conflict rules and tie-breaks",
              "last_write_wins gives ties (equal timestamps) to the client instead of the "
              "server",
              ("conflicts_reported_once", "winner_matches_strategy"), ("conflicts",)),
    SeededBug("merge_drops_field", "server", "conflict rules and tie-breaks",
              "merge takes the server's value for a field only the client changed, when "
              "the server changed another field",
              ("winner_matches_strategy",), ("conflicts",)),
    SeededBug("if_match_ignored_on_delete", "server", "idempotency scope and transactions",
              "DELETE ignores If-Match: a delete based on a stale version is applied",
              ("conditional_writes",), ("sync",)),
    SeededBug("recreate_resets_version", "server", "tombstones and ids",
              "a create under the id of a task deleted in its repository revives it at "
              "version 1 instead of refusing it with 409 id_conflict: clients that saw the "
              "tombstone at a higher version now see the task older than they knew it "
              "(only seeds whose workload recreates a deleted id meet it)",
              ("monotonic_writes", "monotonic_reads", "writes_follow_reads", "read_your_writes",
               "convergence", "time_to_stable", "replica_matches_server"), ("sync",),
              some_seeds=True),
    SeededBug("breaker_skips_half_open", "server", "breaker transitions",
              "after the cool-down the circuit breaker goes open -> closed without a "
              "half-open probe",
              ("breaker_followed_state_machine",), ("resilience",)),
    # -- client ---------------------------------------------------------------------------
    SeededBug("retry_new_idempotency_key", "client", "retry timing and key reuse",
              "each retry attempt of a write gets a fresh Idempotency-Key, so a retry "
              "after a lost reply applies the write twice",
              ("no_duplicates_from_retries",), ("resilience",)),
    SeededBug("retry_after_ignored", "client", "retry timing and key reuse",
              "the client ignores Retry-After on 429/503 and retries on its own backoff",
              ("client_honoured_retry_after",), ("resilience",)),
    SeededBug("ws_dedupe_by_task", "client", "change feed",
              "the WebSocket client drops an event as a duplicate when its task_id equals "
              "the previous event's (deduplicating by the wrong key)",
              ("change_feed", "subscribers_saw_every_event"), ("sync",)),
    # -- replica --------------------------------------------------------------------------
    SeededBug("outbox_clear_before_reply", "replica", "outbox handling",
              "the replica removes a pushed chunk's outbox rows when it sends the push, not "
              "when the reply settles them: a push that fails loses them",
              ("acknowledged_changes_applied_or_reported", "no_lost_acknowledged_writes",
               "convergence"), ("sync",)),
    SeededBug("cursor_ignores_has_more", "replica", "cursors and pruning",
              "after a truncated pull (has_more) the replica stops pulling and sets its "
              "cursor to the log's last_seq, skipping the events in between",
              ("convergence",), ("sync",)),
    SeededBug("resync_keeps_deleted", "replica", "cursors and pruning",
              "a full reload (resync after pruning) lists only live tasks, so local tasks "
              "the server has deleted stay live",
              ("convergence",), ("sync",)),
)

BUGS: dict[str, SeededBug] = {bug.name: bug for bug in _ALL}

_switched_on: frozenset[str] | None = None  # ENV_VAR parsed; None until first asked


def _parse(value: str) -> frozenset[str]:
    return frozenset(name.strip() for name in value.split(",") if name.strip())


def _current() -> frozenset[str]:
    global _switched_on
    if _switched_on is None:
        names = _parse(os.environ.get(ENV_VAR, ""))
        unknown = sorted(names - BUGS.keys())
        if unknown:
            # Asked on hot paths of clients and replicas: say it once, never raise there.
            logger.warning("%s names unknown seeded bug(s) %s, ignored; choose from: %s",
                           ENV_VAR, ", ".join(unknown), ", ".join(sorted(BUGS)))
        _switched_on = names & BUGS.keys()
    return _switched_on


def active(name: str) -> bool:
    """Whether the bug `name` is switched on in this process (ENV_VAR or enable())."""
    current = _switched_on if _switched_on is not None else _current()
    return name in current


def enable(names: Iterable[str]) -> None:
    """Switch the bugs `names` on in this process and in child processes started from now.

    Raises ValueError for an unknown name (nothing is switched on then).
    """
    wanted = frozenset(names)
    for name in wanted:
        describe(name)
    _set(_current() | wanted)


def refresh() -> None:
    """Forget the cached switches: the next `active()` reads ENV_VAR again (for a caller
    that changed os.environ itself)."""
    global _switched_on
    _switched_on = None


def switched_on() -> frozenset[str]:
    """The names of the bugs switched on in this process."""
    return _current()


@contextmanager
def enabled(names: Iterable[str]) -> Iterator[None]:
    """Switch `names` on inside the block; the switches are as they were afterwards."""
    before = _current()
    enable(names)
    try:
        yield
    finally:
        _set(before)


def _set(names: frozenset[str]) -> None:
    global _switched_on
    _switched_on = names
    if names:
        os.environ[ENV_VAR] = ",".join(sorted(names))
    else:
        os.environ.pop(ENV_VAR, None)


def server_bugs() -> frozenset[str]:
    """The names of the bugs that live in the server (`tasksync serve --seeded-bug`)."""
    return frozenset(name for name, bug in BUGS.items() if bug.component == "server")


def describe(name: str) -> SeededBug:
    """The seeded bug called `name`; ValueError naming every choice when there is none."""
    bug = BUGS.get(name)
    if bug is None:
        raise ValueError(f"unknown seeded bug {name!r}; choose one of: {', '.join(sorted(BUGS))}"
                         " (syncbench zoo --list describes them)")
    return bug


__all__ = ["BUGS", "COMPONENTS", "ENV_VAR", "SeededBug", "active", "describe", "enable",
           "enabled", "refresh", "server_bugs", "switched_on"]
