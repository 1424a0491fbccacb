"""What a check returns: its verdict, the observed value, and the operations that show a failure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict over a run.

    `observed` and `expected` are short human-readable values ("0 lost of 412 acknowledged",
    "= 0"); `counterexample` holds, for a failure, the smallest set of recorded operations
    (as plain dicts) that shows it.
    """

    name: str
    passed: bool
    observed: Any
    expected: Any
    message: str = ""
    counterexample: list[dict[str, Any]] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "fail"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict
        return data


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
