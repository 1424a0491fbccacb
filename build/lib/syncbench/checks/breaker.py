"""breaker_followed_state_machine: the circuit breaker only took the transitions it may take."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from syncbench.checks._common import as_record, first_few
from syncbench.verdict import CheckResult
from tasksync.clock import parse_rfc3339

ALLOWED_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
        ("half_open", "open"),
    }
)


def breaker_followed_state_machine(
    transitions: Iterable[Any], *, initial: str = "closed"
) -> CheckResult:
    """Proves that the breaker moved only closed->open->half_open->(closed|open), in time order.

    `transitions` are {"from", "to", "at"} dicts (as /api/v1/admin/breaker lists them; `at`
    is unix seconds or RFC 3339, `at_unix` is preferred when present) or transition objects
    with from_state/to_state/at. Broken when an edge is not allowed, a transition's `from`
    is not the previous `to` (the first one's must be `initial`), or time goes backwards.

    The counterexample has one entry per offending transition: its index and the
    transition, plus the previous one when the fault lies in the pair.
    """
    steps = [_normalise(item) for item in transitions]
    counterexample: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for index, step in enumerate(steps):
        problems: list[str] = []
        if (step["from"], step["to"]) not in ALLOWED_TRANSITIONS:
            problems.append(f"{step['from']} -> {step['to']} is not an allowed transition")
        expected_from = initial if previous is None else previous["to"]
        if step["from"] != expected_from:
            problems.append(f"starts from {step['from']}, but the breaker was {expected_from}")
        if previous is not None and step["at"] is not None and previous["at"] is not None:
            if step["at"] < previous["at"]:
                problems.append("happens before the previous transition")
        if problems:
            pair_matters = previous is not None and any(
                "but the breaker was" in p or "before the previous" in p for p in problems
            )
            entry: dict[str, Any] = {"index": index, "transition": step["raw"]}
            if pair_matters and previous is not None:
                entry["previous"] = previous["raw"]
            entry["violation"] = "; ".join(problems)
            counterexample.append(entry)
        previous = step

    message = first_few(counterexample, lambda entry: f"#{entry['index']}: {entry['violation']}")
    return CheckResult.from_counterexample(
        "breaker_followed_state_machine", counterexample,
        observed=f"{len(counterexample)} bad of {len(steps)} transitions",
        expected="0 bad transitions",
        message=message or "every transition allowed, chained and in time order")


def _normalise(item: Any) -> dict[str, Any]:
    record = as_record(item)
    raw = {
        "from": record.get("from", record.get("from_state")),
        "to": record.get("to", record.get("to_state")),
        "at": record.get("at"),
    }
    at = record.get("at_unix", record.get("at"))
    return {"from": raw["from"], "to": raw["to"], "at": _seconds(at), "raw": raw}


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    parsed = parse_rfc3339(str(value))
    return None if parsed is None else parsed.timestamp()
