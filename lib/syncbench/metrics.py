"""Small pure functions that turn raw samples into the points a chart draws."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd


def ecdf(values: Iterable[float]) -> pd.DataFrame:
    """Return the empirical CDF of `values` as columns `value` (sorted) and `fraction` (0-1]."""
    sorted_values = np.sort(np.asarray(list(values), dtype=float))
    count = len(sorted_values)
    fraction = np.arange(1, count + 1, dtype=float) / count if count else np.array([], dtype=float)
    return pd.DataFrame({"value": sorted_values, "fraction": fraction})


def ecdf_by(frame: pd.DataFrame, value: str, by: str) -> pd.DataFrame:
    """Return one empirical CDF per group: columns `by`, `value` and `fraction`."""
    parts = [
        ecdf(group[value]).assign(**{by: key})[[by, "value", "fraction"]]
        for key, group in frame.groupby(by, sort=False)
    ]
    if not parts:
        return pd.DataFrame({by: [], "value": [], "fraction": []})
    return pd.concat(parts, ignore_index=True)


def percentiles_by(
    frame: pd.DataFrame, value: str, by: str, percentiles: Sequence[float] = (50, 90, 99)
) -> pd.DataFrame:
    """Return long-form percentiles per group: columns `by`, `percentile` ("p50"...) and `value`."""
    rows = [
        {by: key, "percentile": f"p{q:g}", "value": float(np.percentile(group[value], q))}
        for key, group in frame.groupby(by, sort=False)
        for q in percentiles
    ]
    return pd.DataFrame(rows, columns=[by, "percentile", "value"])
