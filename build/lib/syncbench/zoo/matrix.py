"""The detection matrix: what each study's run against each bug came to, and the rates.

A cell is one study run with one bug switched on, read from its `<study>.summary.json`:

    caught   a check named in the bug's `caught_by` failed
    missed   the study finished and no such check failed (other checks may have: they are
             listed, but a bug flagged by a check of another class is not caught)
    error    the study could not finish (crash, cell timeout, dead kernel), or its only
             non-passing checks are unknown: no evidence either way, so never caught

The baseline row ("no bug") runs the same studies without a bug; its cells take the
study's own status (pass, fail, unknown, error). Anything but pass there makes every
detection in that study's column doubtful.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from syncbench.verdict import FAIL, PASS, UNKNOWN
from tasksync.bugs import SeededBug

CAUGHT, MISSED, ERROR = "caught", "missed", "error"
NO_BUG = "no bug"


def row_directory(bug: str) -> str:
    """The directory (under the zoo's output) holding a row's study artifacts."""
    return "no-bug" if bug == NO_BUG else bug


@dataclass(frozen=True)
class Cell:
    """One (bug, study) run: its outcome, the checks that failed and those that caught it."""

    bug: str  # NO_BUG for the baseline
    study: str
    outcome: str  # caught | missed | error; the baseline: pass | fail | unknown | error
    failed_checks: tuple[str, ...] = ()
    catching_checks: tuple[str, ...] = ()
    unknown_checks: tuple[str, ...] = ()
    reason: str = ""
    expected: bool = False  # the study is one of the bug's `studies`
    seed: Any = None
    duration_s: float = 0.0

    @property
    def baseline(self) -> bool:
        return self.bug == NO_BUG

    @property
    def label(self) -> str:
        """The cell's text in the matrix: the catching check, else what went wrong."""
        if self.outcome == CAUGHT:
            return ", ".join(self.catching_checks)
        if self.outcome == ERROR:
            return "error" + (": unknown only" if self.unknown_checks and not self.reason else "")
        if self.failed_checks:  # missed, or a baseline failure: name what did fail
            return f"{self.outcome}: " + ", ".join(self.failed_checks)
        return self.outcome

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["label"] = self.label
        return data


def _checks_with(summary: dict[str, Any], verdict: str) -> tuple[str, ...]:
    return tuple(check["name"] for check in summary.get("checks", [])
                 if (check.get("verdict") or (PASS if check.get("passed") else FAIL)) == verdict)


def classify(bug: SeededBug | None, summary: dict[str, Any]) -> Cell:
    """The cell for a study summary (`runner.summary.study_summary`) of a run with `bug` on,
    or of the baseline when `bug` is None."""
    failed = _checks_with(summary, FAIL)
    unknown = _checks_with(summary, UNKNOWN)
    common = {"study": summary["study"], "failed_checks": failed, "unknown_checks": unknown,
              "reason": summary.get("reason") or "", "seed": summary.get("seed"),
              "duration_s": float(summary.get("duration_s") or 0.0)}
    if bug is None:
        return Cell(bug=NO_BUG, outcome=summary["status"], **common)
    catching = tuple(name for name in failed if name in bug.caught_by)
    if summary["status"] == ERROR:
        outcome = ERROR
    elif catching:
        outcome = CAUGHT
    elif unknown and not failed:
        outcome = ERROR
    else:
        outcome = MISSED
    return Cell(bug=bug.name, outcome=outcome, catching_checks=catching,
                expected=summary["study"] in bug.studies, **common)


@dataclass(frozen=True)
class BugVerdict:
    """Whether a bug was caught (by at least one study), and by which studies and checks."""

    bug: SeededBug
    status: str  # caught | missed | error (no study finished without error) | incomplete
    caught_in: tuple[str, ...]
    checks: tuple[str, ...]
    expected_caught: bool  # caught by one of the studies meant to catch it

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self.bug), "status": self.status, "caught_in": list(self.caught_in),
                "checks": list(self.checks), "expected_caught": self.expected_caught}


INCOMPLETE = "incomplete"  # interrupted before all its studies ran, not caught so far


def bug_verdict(bug: SeededBug, cells: Sequence[Cell], planned: int) -> BugVerdict:
    """The verdict for `bug` from its finished `cells` (`planned` studies were to run)."""
    caught = [cell for cell in cells if cell.outcome == CAUGHT]
    if caught:
        status = CAUGHT
    elif len(cells) < planned:
        status = INCOMPLETE
    elif cells and all(cell.outcome == ERROR for cell in cells):
        status = ERROR
    else:
        status = MISSED
    checks = tuple(dict.fromkeys(name for cell in caught for name in cell.catching_checks))
    return BugVerdict(bug=bug, status=status, caught_in=tuple(c.study for c in caught),
                      checks=checks, expected_caught=any(c.expected for c in caught))


def _rate(verdicts: Sequence[BugVerdict]) -> dict[str, Any]:
    """caught of decided (caught or not, every study finished) bugs, and the ratio."""
    decided = [v for v in verdicts if v.status != INCOMPLETE]
    caught = sum(v.status == CAUGHT for v in decided)
    return {"caught": caught, "run": len(decided),
            "rate": round(caught / len(decided), 4) if decided else None}


def _grouped(verdicts: Sequence[BugVerdict], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[BugVerdict]] = {}
    for verdict in verdicts:
        groups.setdefault(getattr(verdict.bug, key), []).append(verdict)
    return {name: _rate(group) for name, group in groups.items()}


def detection(verdicts: Sequence[BugVerdict], cells: Iterable[Cell]) -> dict[str, Any]:
    """Detection rates: overall, per component, per area, and per study (of the bugs it ran
    against, how many it caught)."""
    by_study: dict[str, dict[str, int]] = {}
    for cell in cells:
        if cell.baseline:
            continue
        counts = by_study.setdefault(cell.study, {"caught": 0, "run": 0})
        counts["run"] += 1
        counts["caught"] += cell.outcome == CAUGHT
    return {
        "overall": _rate(verdicts),
        "expected_studies": {"caught": sum(v.expected_caught for v in verdicts),
                             "run": len(verdicts)},
        "by_component": _grouped(verdicts, "component"),
        "by_area": _grouped(verdicts, "area"),
        "by_study": {study: {**counts, "rate": round(counts["caught"] / counts["run"], 4)}
                     for study, counts in by_study.items()},
    }


def baseline_clean(cells: Iterable[Cell]) -> bool:
    """True when every baseline study passed (and at least one ran)."""
    baseline = [cell for cell in cells if cell.baseline]
    return bool(baseline) and all(cell.outcome == PASS for cell in baseline)


ALL_CAUGHT, NOT_ALL_CAUGHT, DOUBTFUL, INTERRUPTED = (
    "all caught", "not all caught", "doubtful", "interrupted")


@dataclass(frozen=True)
class ZooVerdict:
    """The zoo's verdict in one line, its status and the exit code it implies."""

    status: str  # all caught | not all caught | doubtful (the baseline failed) | interrupted
    text: str
    exit_code: int  # 0 all caught on a clean baseline, 1 otherwise, 130 interrupted


def zoo_verdict(verdicts: Sequence[BugVerdict], cells: Sequence[Cell],
                interrupted: bool = False) -> ZooVerdict:
    """Every bug caught by at least one study, on a baseline where every study passed?"""
    rate = _rate(verdicts)
    caught = [v.bug.name for v in verdicts if v.status == CAUGHT]
    parts = [f"{len(caught)} of {len(verdicts)} bugs caught"
             + (f" ({rate['rate']:.0%} of those finished)" if rate["rate"] is not None else "")]
    for status, word in ((MISSED, "missed"), (ERROR, "no study finished"),
                         (INCOMPLETE, "not finished")):
        names = [v.bug.name for v in verdicts if v.status == status]
        if names:
            parts.append(f"{word}: {', '.join(names)}")
    dirty = [f"{c.study} ({c.label})" for c in cells if c.baseline and c.outcome != PASS]
    if dirty:
        parts.append(f"baseline without a bug did not pass in {', '.join(dirty)}: "
                     "detections there are doubtful")
    if interrupted:
        status, code = INTERRUPTED, 130
    elif not baseline_clean(cells):
        status, code = DOUBTFUL, 1
    elif verdicts and len(caught) == len(verdicts):
        status, code = ALL_CAUGHT, 0
    else:
        status, code = NOT_ALL_CAUGHT, 1
    return ZooVerdict(status=status, text="; ".join(parts), exit_code=code)
