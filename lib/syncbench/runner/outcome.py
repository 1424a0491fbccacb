"""What one study's run came to: pass, fail (a check failed) or error (it could not run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASS, FAIL, ERROR = "pass", "fail", "error"
EXIT_CODES = {PASS: 0, FAIL: 1, ERROR: 2}


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
        return [check for check in self.checks if not check.get("passed")]


def exit_code(outcomes: list[StudyOutcome]) -> int:
    """0 when every check passed, 1 when a check failed, 2 when a study could not run."""
    return max((EXIT_CODES[outcome.status] for outcome in outcomes), default=0)
