"""What a check returns: its verdict, the observed value, and the operations that show a failure.

A verdict is one of three (Jepsen's valid? true / false / :unknown):

    pass      the property held, and the run reached what the check needs to say so
    fail      the property was broken; `counterexample` shows the smallest evidence
    unknown   the run never reached what the check needs (a fault that never bit, a path
              never taken): not evidence of a pass, so a study with one does not pass

Checks compose with `compose` (Jepsen's `compose`): fail beats unknown beats pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict over a run.

    `observed` and `expected` are short human-readable values ("0 lost of 412 acknowledged",
    "= 0"); `counterexample` holds, for a failure, the smallest set of recorded operations
    (as plain dicts) that shows it. `unknown` marks a check whose preconditions the run never
    met; such a result is never `passed`.
    """

    name: str
    passed: bool
    observed: Any
    expected: Any
    message: str = ""
    counterexample: list[dict[str, Any]] = field(default_factory=list)
    unknown: bool = False

    def __post_init__(self) -> None:
        if self.unknown and self.passed:
            raise ValueError(f"check {self.name!r}: an unknown verdict cannot also pass")

    @classmethod
    def from_counterexample(cls, name: str, counterexample: list[dict[str, Any]], *,
                            observed: Any, expected: Any, message: str) -> CheckResult:
        """A pass when `counterexample` is empty, else a fail that carries it."""
        return cls(name=name, passed=not counterexample, observed=observed, expected=expected,
                   message=message, counterexample=counterexample)

    @classmethod
    def not_reached(cls, name: str, why: str, expected: Any = "-") -> CheckResult:
        """An `unknown` verdict: the run never reached what the check needs (`why` says what)."""
        return cls(name=name, passed=False, observed=f"not reached: {why}", expected=expected,
                   message=f"unknown: {why}", unknown=True)

    @property
    def verdict(self) -> str:
        if self.unknown:
            return UNKNOWN
        return PASS if self.passed else FAIL

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict
        return data


def overall(verdicts: Iterable[str]) -> str:
    """fail if any verdict is fail, else unknown if any is unknown, else pass."""
    seen = set(verdicts)
    return FAIL if FAIL in seen else UNKNOWN if UNKNOWN in seen else PASS


def compose(name: str, parts: Mapping[str, CheckResult] | Sequence[CheckResult]) -> CheckResult:
    """One CheckResult over several scopes (profiles, repositories) or checks.

    fail if any part fails, else unknown if any part is unknown, else pass. `observed` lists
    each part's observation; each counterexample entry gains a `scope` naming its part (the
    mapping key, or the part's check name for a sequence).
    """
    scoped = dict(parts) if isinstance(parts, Mapping) else {p.name: p for p in parts}
    if not scoped:
        return CheckResult(name=name, passed=True, observed="nothing to check", expected="-")
    failing = {scope: part for scope, part in scoped.items() if part.verdict == FAIL}
    unknown = {scope: part for scope, part in scoped.items() if part.verdict == UNKNOWN}
    first = next(iter(scoped.values()))
    shown = failing or unknown
    message = (first.message if not shown else
               "; ".join(f"[{scope}] {part.message}" for scope, part in shown.items()))
    return CheckResult(
        name=name,
        passed=not failing and not unknown,
        observed="; ".join(f"{scope}: {part.observed}" for scope, part in scoped.items()),
        expected=first.expected,
        message=message,
        counterexample=[{"scope": scope, **entry} for scope, part in failing.items()
                        for entry in part.counterexample],
        unknown=not failing and bool(unknown),
    )


class StudyChecks:
    """What every study result offers over its `checks` (a mixin for the result dataclasses)."""

    checks: list[CheckResult]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def check(self, name: str) -> CheckResult:
        """The check called `name`; KeyError naming the checks there are."""
        for result in self.checks:
            if result.name == name:
                return result
        raise KeyError(f"no check {name!r}; checks: {[c.name for c in self.checks]}")

    def checks_frame(self) -> Any:
        """One row per check: name, verdict, observed, expected, message (a DataFrame)."""
        import pandas as pd

        columns = ["name", "verdict", "observed", "expected", "message"]
        return pd.DataFrame([{key: c.to_dict()[key] for key in columns} for c in self.checks],
                            columns=columns)


__all__ = ["FAIL", "PASS", "UNKNOWN", "CheckResult", "StudyChecks", "compose",
           "overall"]
