"""What one study's run came to: pass, fail (a check failed), error (it could not run) or
interrupted (Ctrl-C or SIGTERM stopped it, or stopped the run before it began)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncbench.verdict import FAIL, PASS, UNKNOWN, overall

ERROR = "error"
INTERRUPTED = "interrupted"
# unknown (a check's preconditions were never reached) is no pass: it exits like a failure;
# 130 is what a shell reports for a command Ctrl-C stopped
EXIT_CODES = {PASS: 0, FAIL: 1, UNKNOWN: 1, ERROR: 2, INTERRUPTED: 130}
STATUS_ORDER = (PASS, UNKNOWN, FAIL, ERROR, INTERRUPTED)  # best to worst


@dataclass
class StudyOutcome:
    """A study's status with the results it saved (empty when it could not run)."""

    study: str
    status: str
    parameters: dict[str, Any]
    seed: Any
    duration_s: float
    reason: str = ""
    results: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""

    @property
    def checks(self) -> list[dict[str, Any]]:
        return list(self.results.get("checks", []))

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.results.get("metrics", {}))

    @property
    def failed_checks(self) -> list[dict[str, Any]]:
        """Checks that did not pass: failed, or unknown."""
        return [check for check in self.checks if not check.get("passed")]


def status_of(checks: list[dict[str, Any]]) -> str:
    """fail if a check failed, else unknown if one is unknown, else pass."""
    return overall(check.get("verdict") or (PASS if check.get("passed") else FAIL)
                   for check in checks)


def exit_code(outcomes: list[StudyOutcome]) -> int:
    """0 when every check passed, 1 when a check failed, 2 when a study could not run, 130
    when the run was interrupted."""
    return max((EXIT_CODES[outcome.status] for outcome in outcomes), default=0)
