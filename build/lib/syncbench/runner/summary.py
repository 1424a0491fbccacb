"""summary.json files: one per study and one over the run, plus what they record about the
environment (git revision, versions)."""

from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncbench.runner.outcome import FAIL, INTERRUPTED, STATUS_ORDER, StudyOutcome


@dataclass(frozen=True)
class GitInfo:
    """The commit the run came from; `dirty` when the work tree had uncommitted changes."""

    revision: str
    dirty: bool

    @property
    def short(self) -> str:
        return self.revision[:8] if self.revision != "unknown" else "nogit"

    def to_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "dirty": self.dirty}


def git_info(cwd: Path | None = None) -> GitInfo:
    """Return the current commit of the repository at `cwd` ("unknown" outside git)."""
    try:
        revision = _git(["rev-parse", "HEAD"], cwd)
        dirty = bool(_git(["status", "--porcelain", "--untracked-files=no"], cwd))
    except (OSError, subprocess.SubprocessError):
        return GitInfo("unknown", False)
    return GitInfo(revision, dirty)


def utc_now() -> str:
    """Now, as the summaries record times: UTC, RFC 3339, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id(git: GitInfo, now: datetime | None = None) -> str:
    """Return "<UTC timestamp>-<short git rev>", e.g. 20250101T120000Z-1a2b3c4d."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{git.short}"


def versions() -> dict[str, str]:
    """Return the versions of the system under study, the workbench and Python."""
    import syncbench

    try:
        import tasksync

        tasksync_version = getattr(tasksync, "__version__", "unknown")
    except ImportError:
        tasksync_version = "not installed"
    return {
        "tasksync": tasksync_version,
        "syncbench": syncbench.__version__,
        "python": platform.python_version(),
    }


def study_summary(outcome: StudyOutcome, git: GitInfo, run_id: str) -> dict[str, Any]:
    """Return everything known about one study's run, as written to <study>.summary.json."""
    environment = dict(outcome.results.get("environment", {}))
    return {
        "study": outcome.study,
        "run_id": run_id,
        "status": outcome.status,
        "reason": outcome.reason,
        "parameters": outcome.parameters,
        "seed": outcome.seed,
        "metrics": outcome.metrics,
        "checks": [
            {
                key: check.get(key)
                for key in (
                    "name",
                    "verdict",
                    "passed",
                    "observed",
                    "expected",
                    "message",
                    "counterexample",
                )
            }
            for check in outcome.checks
        ],
        "started_at": outcome.started_at,
        "duration_s": round(outcome.duration_s, 3),
        "git": git.to_dict(),
        "versions": {**versions(), "toxiproxy": environment.get("toxiproxy_version")},
        "environment": environment,
        "data_files": sorted(outcome.results.get("data_files", {}).values()),
        # the fault schedule as played: `syncbench run --replay` plays it again
        "schedule": outcome.results.get("schedule", []),
        # how often each path the study's faults must exercise was (syncbench.paths)
        "paths": outcome.results.get("paths", {}),
        # a failing generated run shrunk (syncbench.minimal): its file replays it
        "minimal": outcome.results.get("minimal"),
        # the failing checks' witnesses as per-client timelines (review/witness.py)
        "counterexamples": (outcome.results.get("witness_page") or {}).get("page"),
        "notebook": f"{outcome.study}.ipynb",
        "html": f"{outcome.study}.html",
    }


def run_summary(
    studies: list[dict[str, Any]],
    git: GitInfo,
    run_id: str,
    started_at: str,
    params_file: str | None,
    overrides: dict[str, Any],
    exit_code: int,
    coverage: dict[str, Any] | None = None,
    interrupted: str | None = None,
) -> dict[str, Any]:
    """Return the summary over all studies of a run, as written to summary.json; `coverage`
    is the section coverage_summary.coverage_section made (None: not measured); `interrupted`
    says what stopped the run (None: it ran to the end)."""
    counts = {status: sum(1 for s in studies if s["status"] == status)
              for status in STATUS_ORDER}
    if not counts[INTERRUPTED]:  # shown only when a run was interrupted
        del counts[INTERRUPTED]
    worst = max((s["status"] for s in studies), key=STATUS_ORDER.index,
                default=STATUS_ORDER[0])
    return {
        "run_id": run_id,
        "status": worst,
        "exit_code": exit_code,
        "interrupted": interrupted,
        "started_at": started_at,
        "params_file": params_file,
        "overrides": overrides,
        "git": git.to_dict(),
        "versions": versions(),
        "counts": counts,
        "seeded_bugs": seeded_bugs(studies),
        "coverage": coverage or {"enabled": False, "reason": "not measured"},
        "studies": studies,
    }


def seeded_bugs(studies: list[dict[str, Any]]) -> dict[str, Any]:
    """How many deliberately seeded server bugs the studies caught (a check failed)."""
    runs = [
        {
            "study": s["study"],
            "bug": s["parameters"]["seeded_bug"],
            "caught": s["status"] == FAIL,
            "failed_checks": [c["name"] for c in s["checks"] if not c.get("passed")],
        }
        for s in studies
        if s.get("parameters", {}).get("seeded_bug")
    ]
    return {"run": len(runs), "caught": sum(r["caught"] for r in runs), "studies": runs}


def _git(args: list[str], cwd: Path | None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
    ).stdout.strip()
