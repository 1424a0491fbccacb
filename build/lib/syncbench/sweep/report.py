"""What a sweep found, from its instances' outcomes: the verdict first, the failure rate of
each grid cell, each failing check with the seeds it failed on and the first failing
seed's exact replay command, and one row per instance.

    PASS         every run passed
    FAIL         some run failed a check (the rate per cell says how often)
    UNKNOWN      no check failed, but some run left a check unknown (a path never reached)
    ERROR        no check failed, but some run could not run or timed out
    INTERRUPTED  stopped early (what finished is reported)
    RUNNING      the report of a sweep still going on (rewritten after every run)
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncbench.runner.outcome import ERROR, EXIT_CODES, FAIL, INTERRUPTED, PASS, UNKNOWN
from syncbench.sweep.instance import TIMEOUT
from syncbench.sweep.spec import cell_label

RUNNING = "running"  # the report of a sweep still going on


@dataclass(frozen=True)
class Finished:
    """One instance as the report sees it: where it ran in the grid and how it came out."""

    index: int
    cell: int
    seed: int
    status: str
    duration_s: float
    failed_checks: tuple[str, ...]
    unknown_checks: tuple[str, ...]
    reason: str
    run_dir: str | None  # relative to the sweep's folder: its artifacts or its summary
    summary_file: str | None  # relative: what `--replay` reads

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "cell": self.cell, "seed": self.seed,
                "status": self.status, "duration_s": self.duration_s,
                "failed_checks": list(self.failed_checks),
                "unknown_checks": list(self.unknown_checks), "reason": self.reason,
                "run_dir": self.run_dir, "summary": self.summary_file}


def checks_with(summary: dict[str, Any] | None, verdict: str) -> tuple[str, ...]:
    return tuple(str(c.get("name")) for c in (summary or {}).get("checks") or []
                 if c.get("verdict") == verdict)


def replay_command(out_dir: Path, summary_file: str, notebooks: str | None) -> str:
    """The command that runs one instance again, alone and outside Ray."""
    words = ["syncbench", "run", "--replay", str(out_dir / summary_file)]
    if notebooks and notebooks != "notebooks":
        words += ["--notebooks", notebooks]
    return shlex.join(words)


def cell_rows(cells: Sequence[dict[str, Any]], finished: Sequence[Finished],
              planned_per_cell: int) -> list[dict[str, Any]]:
    """Per grid cell: runs finished, how each came out, and the failure rate."""
    rows = []
    for index, cell in enumerate(cells):
        mine = [f for f in finished if f.cell == index and f.status != INTERRUPTED]
        counts = {status: sum(f.status == status for f in mine)
                  for status in (PASS, FAIL, UNKNOWN, ERROR, TIMEOUT)}
        rows.append({
            "cell": index, "label": cell_label(cell), "values": cell,
            "planned": planned_per_cell, "finished": len(mine), **counts,
            # failed a check, over the runs that came to a verdict
            "failure_rate": (round(counts[FAIL] / judged, 4)
                             if (judged := counts[PASS] + counts[FAIL] + counts[UNKNOWN])
                             else None),
            "failing_seeds": sorted(f.seed for f in mine if f.status == FAIL)})
    return rows


def check_rows(cells: Sequence[dict[str, Any]], finished: Sequence[Finished], out_dir: Path,
               notebooks: str | None) -> list[dict[str, Any]]:
    """Per (check, cell) that failed or stayed unknown somewhere: on which seeds, and the
    replay of the first (lowest) of them."""
    rows = []
    for verdict, field in ((FAIL, "failed_checks"), (UNKNOWN, "unknown_checks")):
        found: dict[tuple[str, int], list[Finished]] = {}
        for item in finished:
            for name in getattr(item, field):
                found.setdefault((name, item.cell), []).append(item)
        for (name, cell), items in sorted(found.items()):
            items.sort(key=lambda f: f.seed)
            first = items[0]
            rows.append({
                "check": name, "verdict": verdict, "cell": cell,
                "cell_label": cell_label(cells[cell]),
                "seeds": [f.seed for f in items], "count": len(items),
                "first_seed": first.seed, "first_run": first.run_dir,
                "replay": (replay_command(out_dir, first.summary_file, notebooks)
                           if first.summary_file else None)})
    return rows


def sweep_verdict(finished: Sequence[Finished], planned: int, interrupted: bool,
                  running: bool = False) -> tuple[str, str]:
    """(status, one line) over the instances so far (RUNNING while the sweep goes on)."""
    done = [f for f in finished if f.status != INTERRUPTED]
    failed = [f for f in done if f.status == FAIL]
    unknown = [f for f in done if f.status == UNKNOWN]
    broken = [f for f in done if f.status in (ERROR, TIMEOUT)]
    parts = []
    if failed:
        seeds = sorted({f.seed for f in failed})
        parts.append(f"{len(failed)} of {len(done)} runs failed a check "
                     f"({len(failed) / len(done):.0%}; first failing seed {seeds[0]})")
    if unknown:
        parts.append(f"{len(unknown)} left a check unknown")
    if broken:
        parts.append(f"{len(broken)} could not run or timed out")
    if not parts:
        parts.append(f"all {len(done)} runs passed" if done else "no run finished")
    if running and not interrupted:
        return RUNNING, "; ".join([f"{len(finished)} of {planned} runs finished", *parts])
    if interrupted or len(done) < planned:
        parts.append(f"interrupted after {len(done)} of {planned} runs")
        return INTERRUPTED, "; ".join(parts)
    status = (FAIL if failed else UNKNOWN if unknown else ERROR if broken
              else PASS if done else ERROR)
    return status, "; ".join(parts)


__all__ = ["EXIT_CODES", "Finished", "cell_rows", "check_rows", "checks_with",
           "replay_command", "sweep_verdict"]
