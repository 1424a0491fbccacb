"""syncbench.stats: the one percentile (numpy's linear interpolation), medians and ECDFs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from syncbench.stats import ecdf, ecdf_by, median, percentile, percentiles, percentiles_by


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [1, 2, 3, 4]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 90) == pytest.approx(3.7)
    assert percentile(values, 0) == 1 and percentile(values, 100) == 4
    assert percentile(values, 90) == pytest.approx(float(np.percentile(values, 90)))


def test_missing_values_are_ignored_and_no_samples_give_nan() -> None:
    assert percentile([1.0, math.nan, 3.0], 50) == 2.0
    assert percentile(pd.Series([1, None, 3], dtype="Int64"), 50) == 2.0
    assert math.isnan(percentile([], 50))
    assert math.isnan(median([math.nan]))


@pytest.mark.parametrize("q", [-1, 100.5])
def test_a_percentile_outside_0_to_100_is_refused(q: float) -> None:
    with pytest.raises(ValueError, match="0..100"):
        percentile([1, 2], q)


def test_percentiles_names_each_quantile() -> None:
    result = percentiles(range(1, 101), (50, 99, 99.9))
    assert list(result) == ["p50", "p99", "p99.9"]
    assert result["p50"] == 50.5
    assert all(math.isnan(v) for v in percentiles([]).values())


def test_median_is_the_50th_percentile() -> None:
    assert median([5, 1, 3]) == 3
    assert median([4, 1, 3, 2]) == 2.5


def test_ecdf_is_sorted_values_with_fractions_up_to_one() -> None:
    frame = ecdf([3, 1, 2, math.nan])
    assert frame["value"].tolist() == [1, 2, 3]
    assert frame["fraction"].tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert ecdf([]).empty


def test_ecdf_by_and_percentiles_by_keep_each_group_apart() -> None:
    frame = pd.DataFrame({"profile": ["lan", "wan", "lan", "wan"], "ms": [1, 100, 3, 300]})
    by = ecdf_by(frame, "ms", "profile")
    assert list(by.columns) == ["profile", "value", "fraction"]
    assert by[by.profile == "wan"]["value"].tolist() == [100, 300]
    long = percentiles_by(frame, "ms", "profile", qs=(50,))
    assert long.set_index("profile")["value"].to_dict() == {"lan": 2.0, "wan": 200.0}
    empty = percentiles_by(frame.iloc[0:0], "ms", "profile")
    assert list(empty.columns) == ["profile", "percentile", "value"] and empty.empty
    assert list(ecdf_by(frame.iloc[0:0], "ms", "profile").columns) == ["profile", "value",
                                                                       "fraction"]
