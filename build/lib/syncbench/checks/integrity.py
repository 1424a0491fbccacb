"""response_integrity: every reply carries the request's own task, repository and client."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from syncbench.checks._common import first_few, frame_rows
from syncbench.checks.duplicates import CREATE_OPERATIONS
from syncbench.verdict import CheckResult

MISMATCHES: tuple[str, ...] = ("task_mismatch", "repository_mismatch", "foreign_origin")


def response_integrity(observations: Any, *, shown: int = 50,
                       create_operations: Collection[str] = CREATE_OPERATIONS) -> CheckResult:
    """Proves that no reply in `observations` carried another request's data.

    One row of the observations frame is one task state in one reply. A row is a mismatch of
    kind (MISMATCHES):

        task_mismatch        the request named a task (`requested_task_id`: the path's id or
                             the batch item's) and the reply's `task_id` is another one
        repository_mismatch  the reply's task lives in another repository
                             (`task_repository`) than the one the request was for
                             (`repository`): a listing, change page or batch result showing
                             another repository's task
        foreign_origin       (only when the frame has an `origin` column) a create with a
                             server-chosen id (a write in `create_operations` naming no task)
                             answered with a task whose last writer (`origin`) is another
                             client than the requester (`client_id` when the frame has it,
                             else `client`): a fresh id cannot belong to anyone else, so the
                             reply is another client's stored result

    A create naming its own id may legitimately get another client's identical task back,
    and a read or conflict may show anyone's write, so origin is checked nowhere else. The
    counterexample holds each mismatching row (at most `shown`; `observed` counts all) with
    `mismatch` and `why`. With no rows there is nothing to check: `unknown`.
    """
    rows = frame_rows(observations, ("op_id", "version"))
    if not rows:
        return CheckResult.not_reached("response_integrity", "no reply was observed")
    has_origin = "origin" in rows[0]
    counts = dict.fromkeys(MISMATCHES, 0)
    entries: list[dict[str, Any]] = []
    for row in rows:
        for kind, why in _mismatches(row, has_origin, create_operations):
            counts[kind] += 1
            if len(entries) < shown:
                entries.append({"mismatch": kind, "why": why, "row": row})
    total = sum(counts.values())
    message = ("every reply carried the request's own task, repository and client"
               if not entries else first_few(entries, lambda e: f"{e['mismatch']}: {e['why']}"))
    checked = "task, repository and origin" if has_origin else "task and repository"
    return CheckResult.from_counterexample(
        "response_integrity", entries,
        observed=(f"{total} mismatches in {len(rows)} replied task states ({checked} checked"
                  + "".join(f", {n} {kind}" for kind, n in counts.items() if n) + ")"),
        expected="0 mismatches", message=message)


def _mismatches(row: dict[str, Any], has_origin: bool,
                create_operations: Collection[str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    requested, task = row.get("requested_task_id"), row.get("task_id")
    where = f"op {row.get('op_id')} ({row.get('operation')} by {row.get('client')})"
    if requested is not None and str(task) != str(requested):
        found.append(("task_mismatch", f"{where} asked for {requested}, got {task}"))
    repository, task_repository = row.get("repository"), row.get("task_repository")
    if repository is not None and task_repository is not None and \
            str(task_repository) != str(repository):
        found.append(("repository_mismatch", f"{where} in {repository} got {task} of "
                                             f"{task_repository}"))
    if (has_origin and row.get("kind") == "write" and requested is None
            and row.get("operation") in create_operations and row.get("origin") is not None):
        requester = row.get("client_id") or row.get("client")
        if str(row["origin"]) != str(requester):
            found.append(("foreign_origin", f"{where} created {task}, whose origin is "
                                            f"{row['origin']}"))
    return found
