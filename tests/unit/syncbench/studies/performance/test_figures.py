"""Figures: medians with spread, ratios per pair, units from syncbench.metric, noise."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from syncbench.metric import MIB, MS, PER_S, UNITS, S
from syncbench.studies.performance import (
    FIGURE_COLUMNS,
    compute_figures,
    noise_summary,
    ratio_figures,
)
from syncbench.studies.performance.figures import fanout_percentiles, spread
from tests.unit.syncbench.studies.performance.frames import figures


def test_figures_are_medians_with_spread_and_paired_ratios() -> None:
    frame = figures()
    assert list(frame.columns) == list(FIGURE_COLUMNS)
    by_name = frame.set_index("figure")
    create = by_name.loc["create.lan.w10"]
    assert create.ratio_median == pytest.approx(2.0)  # pairs 2.0, 2.2, 2.0
    assert create.ratio_min == pytest.approx(2.0) and create.ratio_max == pytest.approx(2.2)
    assert create.value_median == pytest.approx(1000 / 2.2) and create.repeats == 3
    assert by_name.loc["noop.lan.w10"].ratio_median == 1.0
    assert by_name.loc["batch.lan.n1000"].ratio_median == pytest.approx(50.0)
    assert by_name.loc["rss.lan"].ratio_median == pytest.approx(1.2)
    assert by_name.loc["fanout_p50.lan.s100"].value_median == pytest.approx(31.0)


def test_every_figure_carries_a_metric_unit() -> None:
    units = figures().set_index("scenario")["unit"].groupby(level=0).first()
    assert units["create"] == PER_S and units["noop"] == PER_S and units["batch"] == S
    assert units["fanout_p99"] == MS and units["rss"] == MIB
    assert set(units) <= UNITS


def test_only_the_gated_scenarios_are_compared_with_the_baseline() -> None:
    gated = ratio_figures(figures())
    assert "fanout_p99.lan.s10" not in gated and "fanout_p50.lan.s100" in gated
    assert "noop.lan.w10" not in gated and "rss.lan" in gated


def test_noise_is_the_relative_spread_of_ratios_over_repeats() -> None:
    noise = noise_summary(figures())
    assert noise["noise_rel_spread_max"] >= noise["noise_rel_spread_median"] > 0
    single = figures().assign(repeats=1)
    assert noise_summary(single) == {}


def test_spread_ignores_missing_values() -> None:
    assert spread([3.0, float("nan"), 1.0, None, 2.0]) == (2.0, 1.0, 3.0)  # type: ignore[list-item]
    assert all(math.isnan(v) for v in spread([]))


def test_empty_frames_give_no_figures() -> None:
    empty = compute_figures(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    assert empty.empty and list(empty.columns) == list(FIGURE_COLUMNS)


def test_fanout_percentiles_are_long_form_per_profile_and_subscribers() -> None:
    percentiles = fanout_percentiles(figures())
    assert list(percentiles.columns) == ["profile", "subscribers", "percentile", "value", "low",
                                         "high"]
    assert set(percentiles["percentile"]) == {"p50", "p90", "p99"}
    assert set(percentiles["subscribers"]) == {10, 100}
