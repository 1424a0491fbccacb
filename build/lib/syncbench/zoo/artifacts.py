"""What a zoo run leaves: zoo.json (everything), zoo.csv (one row per cell), zoo.html."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from syncbench.files import replace_text
from syncbench.plain import json_ready
from syncbench.zoo.matrix import NO_BUG, BugVerdict, Cell, ZooVerdict, detection
from syncbench.zoo.page import zoo_html
from tasksync.bugs import SeededBug

CSV_COLUMNS = ("bug", "component", "area", "study", "outcome", "label", "expected",
               "catching_checks", "failed_checks", "unknown_checks", "reason", "seed",
               "duration_s")


def zoo_document(*, run: dict[str, Any], studies: Sequence[str], cells: Sequence[Cell],
                 verdicts: Sequence[BugVerdict], verdict: ZooVerdict) -> dict[str, Any]:
    """zoo.json's content: the verdict first, then the rates, the bugs, every cell, and
    `run` (run id, times, parameters, seeds, sample, versions) merged in."""
    baseline = [cell for cell in cells if cell.baseline]
    return {
        "verdict": verdict.text,
        "status": verdict.status,
        "exit_code": verdict.exit_code,
        "detection": detection(verdicts, cells),
        **run,
        "studies": list(studies),
        "baseline": {"clean": bool(baseline) and all(c.outcome == "pass" for c in baseline),
                     "cells": [cell.to_dict() for cell in baseline]},
        "bugs": [v.to_dict() for v in verdicts],
        "cells": [cell.to_dict() for cell in cells if not cell.baseline],
    }


def csv_rows(cells: Sequence[Cell], bugs: dict[str, SeededBug]) -> list[dict[str, Any]]:
    """One row per cell (the baseline's first), lists joined with "; "."""
    rows = []
    for cell in sorted(cells, key=lambda c: not c.baseline):
        bug = bugs.get(cell.bug)
        data = cell.to_dict()
        rows.append({
            **{key: data[key] for key in CSV_COLUMNS if key in data},
            "component": bug.component if bug else "",
            "area": bug.area if bug else "",
            **{key: "; ".join(data[key])
               for key in ("catching_checks", "failed_checks", "unknown_checks")},
            "bug": cell.bug if bug else NO_BUG,
        })
    return rows


def write_artifacts(out_dir: Path, document: dict[str, Any], cells: Sequence[Cell],
                    bugs: dict[str, SeededBug]) -> None:
    """Write zoo.json, zoo.csv and zoo.html into `out_dir` (each replaced whole)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    replace_text(out_dir / "zoo.json",
                 json.dumps(json_ready(document), indent=2, allow_nan=False) + "\n")
    partial = out_dir / "zoo.csv.partial"
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(csv_rows(cells, bugs))
    partial.replace(out_dir / "zoo.csv")
    replace_text(out_dir / "zoo.html", zoo_html(document, cells))
