"""The stored baseline (params/baselines/performance.json): write it from a run, load it back.

    {"study": "performance", "created_at": ..., "machine": {...}, "note": ...,
     "parameters": {...}, "figures": {"create.lan.w10": {"ratio": 1.45, "ratio_min": ...,
                                                         "ratio_max": ..., "value": ...,
                                                         "unit": ..., "repeats": 3}, ...}}

Only `figures.<name>.ratio` is compared (checks.no_regression_vs_baseline); the rest says what
and where it was measured. A bare number in place of a figure's mapping is read as its ratio.
"""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from syncbench.studies.performance.figures import GATED_SCENARIOS
from syncbench.studies.performance.params import PerformanceParams

STUDY = "performance"


def _round(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)


def baseline_figures(figures: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The gated figures of a run as the baseline stores them: ratio median/min/max, value."""
    gated = figures[figures["scenario"].isin(GATED_SCENARIOS)]
    return {
        row.figure: {
            "ratio": _round(row.ratio_median),
            "ratio_min": _round(row.ratio_min),
            "ratio_max": _round(row.ratio_max),
            "value": _round(row.value_median),
            "unit": row.unit,
            "repeats": int(row.repeats),
        }
        for row in gated.itertuples(index=False)
    }


def write_baseline(params: PerformanceParams, figures: pd.DataFrame,
                   machine: dict[str, Any], path: str | Path | None = None) -> Path:
    """Store a run's figures as the baseline (default: `params.baseline_file`)."""
    target = Path(path) if path else params.baseline_file
    target.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "study": STUDY,
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "note": "ratios to POST /api/v1/noop measured in the same run (lower is better)",
        "parameters": {k: v for k, v in params.to_dict().items() if k != "schedule"},
        "figures": baseline_figures(figures),
    }
    target.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return target


def load_baseline(path: str | Path) -> dict[str, Any] | None:
    """The stored baseline at `path`, or None when there is none; ValueError if malformed."""
    source = Path(path)
    if not source.is_file():
        return None
    data = json.loads(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("figures"), dict):
        raise ValueError(f"{source} is not a performance baseline (no 'figures' mapping)")
    return data


def stored_ratios(baseline: dict[str, Any]) -> dict[str, float]:
    """figure -> stored ratio to noop (a figure's mapping, or a bare number)."""
    return {name: float(entry["ratio"] if isinstance(entry, dict) else entry)
            for name, entry in baseline.get("figures", {}).items()
            if (entry["ratio"] if isinstance(entry, dict) else entry) is not None}


__all__ = ["baseline_figures", "load_baseline", "stored_ratios", "write_baseline"]
