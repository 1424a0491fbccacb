"""Benchmark figures: ratios per repeat, target verdicts, and the run summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import summary
from benchmarks.runner import Figure, write_json


def test_the_ratio_is_taken_per_repeat_before_the_median() -> None:
    # Medians of the sides would give 200/100 = 2.0; per-repeat ratios are 1, 3, 1.5.
    figure = Figure("create", "req/s", [100, 300, 200], "bare", [100, 100, 133.3333], target=2)
    result = figure.summary()
    assert result["ratio_median"] == pytest.approx(1.5)
    assert result["met"] is False


@pytest.mark.parametrize("op, value, met", [("<=", 0.4, True), ("<=", 0.6, False),
                                            (">=", 0.6, True)])
def test_a_value_target_compares_the_median_value(op: str, value: float, met: bool) -> None:
    figure = Figure("batch", "s", [value, value, value], "sqlite", [0.01] * 3, target=0.5,
                    target_on="value", target_op=op)
    assert figure.summary()["met"] is met


def test_the_summary_counts_targets_and_saves_the_reference_run(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    write_json("create", [Figure("create", "req/s", [4], "bare", [10], target=0.5)], run, {})
    write_json("batch", [Figure("batch", "s", [0.3], "sqlite", [0.01], target=0.5,
                                target_on="value", target_op="<="),
                         Figure("info only", "s", [1], "x", [1])], run, {})
    (run / "notes.json").write_text(json.dumps({"not": "a result"}))

    assert summary.main([str(run), "--save", str(tmp_path / "baselines")]) == 0
    out = capsys.readouterr().out
    assert "targets met: 1 of 2" in out
    assert "not met: create: create" in out
    saved = sorted(p.name for p in (tmp_path / "baselines").iterdir())
    assert saved == ["bench-batch.json", "bench-create.json"]


def test_an_empty_or_missing_run_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="make bench"):
        summary.main([str(tmp_path)])
    with pytest.raises(SystemExit, match="not a directory"):
        summary.main([str(tmp_path / "missing")])
