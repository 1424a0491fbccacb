"""The stored baseline: written from figures, read back, compared clean; the committed one."""

from __future__ import annotations

import json

import pytest

from syncbench.machine import machine_description
from syncbench.studies.performance import (
    PerformanceParams,
    load_baseline,
    no_regression_vs_baseline,
    ratio_figures,
    write_baseline,
)
from syncbench.studies.performance.baseline import stored_ratios
from tests.unit.syncbench.studies.performance.frames import figures


def test_a_written_baseline_loads_back_and_compares_clean(tmp_path) -> None:
    params = PerformanceParams(baseline_path=str(tmp_path / "b.json"))
    path = write_baseline(params, figures(), {"cpu_count": 2, "python": "3.11.7"})
    assert path == tmp_path / "b.json"
    stored = load_baseline(path)
    assert stored is not None and stored["machine"]["cpu_count"] == 2
    assert stored["parameters"]["repeats"] == 3 and "schedule" not in stored["parameters"]
    assert set(stored["figures"]) == set(ratio_figures(figures()))
    check = no_regression_vs_baseline(ratio_figures(figures()), stored, max_ratio=1.5)
    assert check.passed
    assert load_baseline(tmp_path / "missing.json") is None


def test_a_file_that_is_no_baseline_is_an_error(tmp_path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"figures": []}))
    with pytest.raises(ValueError, match="not a performance baseline"):
        load_baseline(path)


def test_the_stored_baseline_is_well_formed_and_read_by_this_code() -> None:
    stored = load_baseline(PerformanceParams().baseline_file)
    assert stored is not None, "params/baselines/performance.json is missing"
    assert {"cpu_count", "python"} <= set(stored["machine"])
    ratios = stored_ratios(stored)
    assert ratios and all(ratio > 0 for ratio in ratios.values())
    assert {"create.lan.w10", "batch.lan.n1000", "fanout_p50.lan.s10", "rss.lan"} <= set(ratios)
    # compared with itself it passes; 2x on one figure fails naming it
    assert no_regression_vs_baseline(ratios, stored, max_ratio=1.5,
                                     machine=machine_description()).passed
    worse = {**ratios, "batch.lan.n1000": ratios["batch.lan.n1000"] * 2}
    failed = no_regression_vs_baseline(worse, stored, max_ratio=1.5)
    assert not failed.passed and failed.counterexample[0]["figure"] == "batch.lan.n1000"
