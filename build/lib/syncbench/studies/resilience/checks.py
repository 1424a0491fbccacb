"""The study's own checks, pure functions over its frames and the breaker's log.

Each says UNKNOWN (`CheckResult.not_reached`) when the run never reached what it needs: a
fault window with no request inside it, a breaker that never opened, no retried create,
no retried 429. Such a run is not evidence of a pass.

    success_restored_after_recovery   100% success once each fault cleared (per segment)
    duplicates_from_retried_creates   no_duplicates_from_retries, if a create was retried
    breaker_moved_by_the_rules        breaker_followed_state_machine, if the breaker moved
    breaker_detected_within           the breaker opened soon after the storage fault began
    breaker_recovered_within          ... and closed soon after it cleared
    retry_after_honoured              each retry after a 429 waited its Retry-After
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from syncbench.checks import breaker_followed_state_machine, no_duplicates_from_retries
from syncbench.history import INFO, OK, History, Operation
from syncbench.plain import plain
from syncbench.studies.resilience.timeline import DURING, RECOVERED
from syncbench.verdict import CheckResult, compose

RECOVERY = "success_rate_back_to_100_after_recovery"
DETECT = "breaker_time_to_detect"
RECOVER = "breaker_time_to_recover"
RETRY_AFTER = "client_honoured_retry_after"
DUPLICATES = "no_duplicates_from_retries"
STATE_MACHINE = "breaker_followed_state_machine"


def _row(row: Mapping[str, Any], violation: str) -> dict[str, Any]:
    return {**plain(dict(row)), "violation": violation}


def success_restored_after_recovery(operations: pd.DataFrame,
                                    met_a_request: Collection[str] = ()) -> CheckResult:
    """Proves that, in every fault segment, operations invoked once the fault was cleared (and
    the grace period passed) all succeeded: the success rate is back to 100%.

    `operations` needs columns op_id, phase, period, outcome; `met_a_request` names the
    segments whose fault had a request in flight (one invoked earlier and still retrying
    counts: see `faults_met_by_requests`). A segment whose fault met no request (it touched
    nothing) or with none invoked after it (nothing shows the recovery) is unknown;
    composed over segments: fail > unknown > pass.
    """
    parts: dict[str, CheckResult] = {}
    for phase, group in operations.groupby("phase", sort=False):
        phase = str(phase)
        recovered = group[group["period"] == RECOVERED]
        if phase not in met_a_request and not (group["period"] == DURING).any():
            parts[phase] = CheckResult.not_reached(
                RECOVERY, f"no request was in flight while {phase} was on", "100%")
            continue
        if recovered.empty:
            parts[phase] = CheckResult.not_reached(
                RECOVERY, f"no operation was invoked after {phase} cleared; lengthen "
                "recover_seconds", "100%")
            continue
        rate = float((recovered["outcome"] == OK).mean())
        bad = recovered[recovered["outcome"] != OK]
        parts[phase] = CheckResult(
            RECOVERY, bad.empty, f"{rate:.1%} of {len(recovered)}", "100%",
            f"{phase}: {rate:.1%}",
            [_row(row, f"{row['outcome']} after {phase} was cleared")
             for row in bad.to_dict("records")])
    if not parts:
        return CheckResult.not_reached(RECOVERY, "no fault segment had operations", "100%")
    return compose(RECOVERY, parts)


def retried_creates(history: History | Iterable[Operation]) -> int:
    """Creates that were retried (several attempts) or whose outcome is unknown."""
    return sum(1 for op in history if op.operation == "create"
               and ((op.attempts or 0) > 1 or op.outcome == INFO))


def duplicates_from_retried_creates(history: History, final_tasks: Mapping[str, Any],
                                    task_key: Callable[[Mapping[str, Any]], str | None]
                                    ) -> CheckResult:
    """no_duplicates_from_retries, unknown when no create was ever retried (the path the
    Idempotency-Key guards was never taken)."""
    if not retried_creates(history):
        return CheckResult.not_reached(DUPLICATES, "no create was retried, so no retry could "
                                       "duplicate one", "0 duplicated keys")
    return no_duplicates_from_retries(history, final_tasks, task_key=task_key)


def breaker_moved_by_the_rules(transitions: Sequence[Mapping[str, Any]]) -> CheckResult:
    """breaker_followed_state_machine, unknown when the breaker never changed state."""
    if not transitions:
        return CheckResult.not_reached(STATE_MACHINE, "the breaker never changed state",
                                       "0 bad transitions")
    return breaker_followed_state_machine(transitions)


def _steps(transitions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({"from": t["from"], "to": t["to"], "at": float(t["at_unix"]),
                    "reason": t.get("reason", "")} for t in transitions), key=lambda t: t["at"])


def time_to_open(transitions: Sequence[Mapping[str, Any]], fault_start: float) -> float | None:
    """Seconds from `fault_start` (unix) to the breaker's first opening after it; None if
    it never opened."""
    opened = [t for t in _steps(transitions) if t["to"] == "open" and t["at"] >= fault_start]
    return opened[0]["at"] - fault_start if opened else None


def time_to_close(transitions: Sequence[Mapping[str, Any]], fault_cleared: float) -> float | None:
    """Seconds from `fault_cleared` to the breaker being closed again: 0 when it was closed
    then and stayed so; None if it never closed."""
    steps = _steps(transitions)
    before = [t for t in steps if t["at"] < fault_cleared]
    after = [t for t in steps if t["at"] >= fault_cleared]
    if (before[-1]["to"] if before else "closed") == "closed" and not after:
        return 0.0
    closed = [t for t in after if t["to"] == "closed"]
    return closed[0]["at"] - fault_cleared if closed else None


def breaker_detected_within(transitions: Sequence[Mapping[str, Any]], fault_start: float,
                            max_seconds: float, *, answered: int | None = None,
                            threshold: int = 1) -> CheckResult:
    """Proves the breaker opened within `max_seconds` of the storage fault starting.

    `transitions` as /api/v1/admin/breaker lists them (from, to, at_unix; unix s).
    `answered`: requests the server answered during the fault; fewer than `threshold` (the
    failures that open the breaker) cannot open it, so that is unknown, not a failure.
    """
    expected = f"<= {max_seconds:g} s"
    seconds = time_to_open(transitions, fault_start)
    if seconds is None:
        if answered is not None and answered < threshold:
            return CheckResult.not_reached(
                DETECT, f"{answered} request(s) reached the server during the storage fault; "
                f"{threshold} failures open the breaker", expected)
        return CheckResult(DETECT, False, "never opened", expected, "the breaker did not open "
                           "after the storage fault started",
                           [{"fault_start": fault_start, "transitions": list(transitions)}])
    opened = next(t for t in _steps(transitions) if t["to"] == "open" and t["at"] >= fault_start)
    return CheckResult(DETECT, seconds <= max_seconds, f"{seconds:.3f} s", expected,
                       opened["reason"],
                       [] if seconds <= max_seconds else [{**opened, "fault_start": fault_start}])


def breaker_recovered_within(transitions: Sequence[Mapping[str, Any]], fault_cleared: float,
                             max_seconds: float, *, fault_start: float | None = None
                             ) -> CheckResult:
    """Proves the breaker was closed again within `max_seconds` of the storage fault clearing.

    With `fault_start`, a breaker that never opened since then never had to recover: unknown.
    """
    expected = f"<= {max_seconds:g} s"
    if fault_start is not None and time_to_open(transitions, fault_start) is None:
        return CheckResult.not_reached(RECOVER, "the breaker never opened during the storage "
                                       "fault", expected)
    seconds = time_to_close(transitions, fault_cleared)
    steps = _steps(transitions)
    if seconds is None:
        return CheckResult(RECOVER, False, "never closed", expected,
                           f"still {steps[-1]['to']} at the end",
                           [{"fault_cleared": fault_cleared,
                             "transitions": [t for t in steps if t["at"] >= fault_cleared]}])
    closed = next((t for t in steps if t["at"] >= fault_cleared and t["to"] == "closed"), None)
    ok = seconds <= max_seconds
    return CheckResult(RECOVER, ok, f"{seconds:.3f} s", expected,
                       closed["reason"] if closed else "closed when the fault cleared",
                       [] if ok or closed is None else [{**closed, "fault_cleared": fault_cleared}])


def retry_after_honoured(attempts: pd.DataFrame, *, tolerance: float = 0.01,
                         max_retry_after: float = 30.0) -> CheckResult:
    """Proves that after each 429 carrying Retry-After the client waited at least that long.

    `attempts` has one row per attempt: call_id, attempt, status_code, retry_after,
    gap_s (seconds from this attempt's end to the next attempt's start; NaN for the last).
    Without any retried 429 there is nothing to show: unknown.
    """
    limited = attempts[(attempts["status_code"] == 429) & attempts["retry_after"].notna()
                       & attempts["gap_s"].notna()]
    if limited.empty:
        return CheckResult.not_reached(RETRY_AFTER, "no 429 was retried; lower rate_limit/"
                                       "rate_burst or raise rate_limit_requests",
                                       "every wait >= Retry-After")
    wanted = limited["retry_after"].clip(upper=max_retry_after)
    short = limited[limited["gap_s"] + tolerance < wanted]
    margin = float((limited["gap_s"] - wanted).min())
    return CheckResult(
        name=RETRY_AFTER,
        passed=short.empty,
        observed=f"{len(short)} early of {len(limited)} retried 429s (min margin {margin:+.3f} s)",
        expected="0 retries before Retry-After",
        message="every retry after a 429 waited at least Retry-After" if short.empty
        else "the client retried before the server's Retry-After",
        counterexample=[_row(row, f"waited {row['gap_s']:.3f} s of {row['retry_after']:g} s")
                        for row in short.to_dict("records")],
    )


__all__ = ["breaker_detected_within", "breaker_moved_by_the_rules", "breaker_recovered_within",
           "duplicates_from_retried_creates", "retried_creates", "retry_after_honoured",
           "success_restored_after_recovery", "time_to_close", "time_to_open"]
