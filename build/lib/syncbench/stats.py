"""Numbers from samples: percentiles, medians, ECDF points. The one home for each.

Every percentile in the workbench (study metrics, benchmarks, charts) is
`percentile(values, q)`: linear interpolation between closest ranks (numpy's default),
NaN for no samples, missing values ignored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

DEFAULT_PERCENTILES: tuple[float, ...] = (50, 90, 99)


def _samples(values: Iterable[float]) -> np.ndarray:
    array = np.asarray(
        values.to_numpy(dtype=float, na_value=np.nan) if isinstance(values, pd.Series)
        else list(values), dtype=float)
    return array[~np.isnan(array)]


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0-100) of `values`; NaN when there are none."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be within 0..100, got {q}")
    samples = _samples(values)
    return float(np.percentile(samples, q)) if samples.size else math.nan


def percentiles(values: Iterable[float],
                qs: Sequence[float] = DEFAULT_PERCENTILES) -> dict[str, float]:
    """{"p50": ..., "p90": ..., "p99": ...} of `values` (NaN each when there are none)."""
    samples = _samples(values)
    return {f"p{q:g}": float(np.percentile(samples, q)) if samples.size else math.nan
            for q in qs}


def median(values: Iterable[float]) -> float:
    """The median of `values`; NaN when there are none."""
    return percentile(values, 50)


def ecdf(values: Iterable[float]) -> pd.DataFrame:
    """Return the empirical CDF of `values` as columns `value` (sorted) and `fraction` (0-1]."""
    sorted_values = np.sort(_samples(values))
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


def latency_summary(frame: pd.DataFrame, by: Sequence[str], value: str = "latency_ms",
                    sort: bool = True) -> pd.DataFrame:
    """Per group of the `by` columns: `events` (its rows), `p50_ms` and `p99_ms` of `value`
    (rounded to 0.01)."""
    rows = [{**dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
             "events": len(group), "p50_ms": round(percentile(group[value], 50), 2),
             "p99_ms": round(percentile(group[value], 99), 2)}
            for key, group in frame.groupby(list(by), sort=sort)]
    return pd.DataFrame(rows, columns=[*by, "events", "p50_ms", "p99_ms"])


def percentiles_by(
    frame: pd.DataFrame, value: str, by: str,
    qs: Sequence[float] = DEFAULT_PERCENTILES,
) -> pd.DataFrame:
    """Return long-form percentiles per group: columns `by`, `percentile` ("p50"...) and `value`."""
    rows = [
        {by: key, "percentile": name, "value": result}
        for key, group in frame.groupby(by, sort=False)
        for name, result in percentiles(group[value], qs).items()
    ]
    return pd.DataFrame(rows, columns=[by, "percentile", "value"])


__all__ = ["DEFAULT_PERCENTILES", "ecdf", "ecdf_by", "median", "percentile", "percentiles",
           "percentiles_by"]
