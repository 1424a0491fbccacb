"""`syncbench compare` over run directories written as `syncbench run` writes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from syncbench.cli import main
from syncbench.params import ParameterError
from syncbench.review.compare import compare_runs, load_run


def write_run(path: Path, run_id: str, checks: dict[str, str], metrics: dict[str, float],
              parameters: dict[str, Any] | None = None, status: str | None = None) -> Path:
    status = status or ("pass" if all(v == "pass" for v in checks.values()) else "fail")
    study = {"study": "sync", "run_id": run_id, "status": status, "reason": "",
             "parameters": {"seed": 1, "output_dir": str(path), **(parameters or {})},
             "checks": [{"name": n, "verdict": v, "passed": v == "pass", "message": f"{n} {v}"}
                        for n, v in checks.items()],
             "metrics": {n: {"value": v, "unit": "ms"} for n, v in metrics.items()}}
    path.mkdir(parents=True)
    (path / "sync.summary.json").write_text(json.dumps(study))
    (path / "summary.json").write_text(json.dumps({"run_id": run_id, "status": status,
                                                   "studies": [study]}))
    return path


def test_a_check_that_stops_passing_is_a_regression_and_exits_1(tmp_path: Path) -> None:
    base = write_run(tmp_path / "a", "run-a", {"no_lost_writes": "pass", "feed": "fail"},
                     {"p50": 10.0}, {"replicas": 2})
    candidate = write_run(tmp_path / "b", "run-b", {"no_lost_writes": "fail", "feed": "pass",
                                                     "new_check": "pass"},
                          {"p50": 15.0}, {"replicas": 4})

    comparison = compare_runs([load_run(base)], [load_run(candidate)])

    [study] = comparison.studies
    assert [(c.check, c.before, c.after, c.kind) for c in study.checks] == [
        ("no_lost_writes", "pass", "fail", "regression"), ("feed", "fail", "pass", "fixed"),
        ("new_check", None, "pass", "added")]
    assert study.parameters == {"replicas": (2, 4)}  # output_dir differs always: not shown
    [p50] = study.metrics
    assert (p50.before, p50.after, p50.change, p50.ratio, p50.band) == (10, 15, 5, 1.5, None)
    assert p50.beyond_noise is None  # one run a side: no band to judge by
    result = CliRunner().invoke(main, ["compare", str(base), str(candidate),
                                       "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 1, result.output
    assert "REGRESSION: no_lost_writes pass -> fail" in result.output
    assert "parameter replicas: 2 -> 4" in result.output
    assert "p50: 10 -> 15 ms (+5, +50.0%)" in result.output
    page = (tmp_path / "cmp" / "compare.html").read_text()
    assert "no_lost_writes" in page and "regression" in page
    assert "<script src=" not in page and "Plotly.newPlot" in page  # plotly.js embedded once
    assert page.count("plotly.js v") <= 1


def test_repeats_give_a_noise_band_and_a_fix_alone_exits_0(tmp_path: Path) -> None:
    base = [write_run(tmp_path / f"a{i}", f"a{i}", {"c": "fail"}, {"p50": v, "p99": 40.0 + i})
            for i, v in enumerate([10.0, 12.0, 11.0])]
    candidate = write_run(tmp_path / "b", "b", {"c": "pass"}, {"p50": 11.5, "p99": 60.0})

    comparison = compare_runs([load_run(p) for p in base], [load_run(candidate)])

    p50, p99 = comparison.studies[0].metrics
    assert (p50.before, p50.band, p50.beyond_noise) == (11.0, (10.0, 12.0), False)
    assert (p99.before, p99.band, p99.beyond_noise) == (41.0, (40.0, 42.0), True)
    result = CliRunner().invoke(main, [
        "compare", str(base[0]), str(candidate), "--base-repeat", str(base[1]),
        "--base-repeat", str(base[2]), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    assert "FIXED: c fail -> pass" in result.output
    assert "p99: 41 -> 60 ms" in result.output and "beyond the base's band 40 .. 42" in result.output
    assert "p50" not in result.output.split("FIXED")[1].split("(1 metric")[0]
    assert "(1 metric(s) moved within the base's noise band)" in result.output


def test_a_study_that_ends_worse_is_a_regression_even_with_no_check(tmp_path: Path) -> None:
    base = write_run(tmp_path / "a", "a", {"c": "pass"}, {})
    candidate = write_run(tmp_path / "b", "b", {}, {}, status="error")
    comparison = compare_runs([load_run(base)], [load_run(candidate)])
    assert comparison.regressed
    assert [c.kind for c in comparison.studies[0].checks] == ["regression"]


@pytest.mark.parametrize("make", ["missing", "empty", "zoo", "garbled"])
def test_what_is_not_a_run_is_refused_with_what_to_give(tmp_path: Path, make: str) -> None:
    path = tmp_path / "x"
    if make != "missing":
        path.mkdir()
    if make == "zoo":
        (path / "zoo.json").write_text("{}")
    if make == "garbled":
        (path / "summary.json").write_bytes(b"\xff{")
    with pytest.raises(ParameterError) as refused:
        load_run(path)
    assert str(path) in str(refused.value)
    good = write_run(tmp_path / "good", "g", {"c": "pass"}, {})
    result = CliRunner().invoke(main, ["compare", str(good), str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("syncbench compare: error:")
    assert len(result.stderr.strip().splitlines()) == 1
