"""outputs/index.html over the runs kept under outputs/."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from syncbench.cli import main
from syncbench.review.across_runs import flipping_checks, kept_runs, trends, write_runs_index


def keep(root: Path, name: str, started: str, seed: int, verdict: str, p50: float) -> None:
    study = {"study": "sync", "status": verdict, "seed": seed, "parameters": {"seed": seed},
             "checks": [{"name": "feed", "verdict": verdict, "passed": verdict == "pass"},
                        {"name": "steady", "verdict": "pass", "passed": True}],
             "metrics": {"p50": {"value": p50, "unit": "ms"},
                         "label": {"value": "text", "unit": ""}}}
    (root / name).mkdir(parents=True)
    (root / name / "summary.json").write_text(json.dumps(
        {"run_id": name, "started_at": started, "status": verdict, "studies": [study]}))


def test_runs_are_ordered_trends_drawn_and_flipping_checks_named(tmp_path: Path) -> None:
    keep(tmp_path, "r2", "2026-12-02T10:00:00+00:00", 2, "fail", 14.0)
    keep(tmp_path, "r1", "2026-12-01T10:00:00+00:00", 1, "pass", 12.0)
    keep(tmp_path, "r3", "2026-12-03T10:00:00+00:00", 3, "pass", 13.0)
    (tmp_path / "zoo" / "z").mkdir(parents=True)  # a zoo run is not a run of the index
    (tmp_path / "zoo" / "summary.json").write_text("{}")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "summary.json").write_text("{half")

    runs = kept_runs(tmp_path)

    assert [run.run_id for run in runs] == ["r1", "r2", "r3"]
    assert flipping_checks(runs) == [{"study": "sync", "check": "feed", "verdicts": [
        ("r1", 1, "pass"), ("r2", 2, "fail"), ("r3", 3, "pass")]}]
    assert trends(runs) == {"sync": {"p50": [("r1", 12.0, "ms"), ("r2", 14.0, "ms"),
                                             ("r3", 13.0, "ms")]}}
    page = write_runs_index(tmp_path).read_text()
    assert page.index("r3") < page.index("r1")  # newest first
    assert "Checks that flip between runs or seeds (1)" in page and "steady" not in page
    assert "Plotly.newPlot" in page and "<script src=" not in page
    assert "href='r2/index.html'" in page


def test_the_index_command_writes_the_page_or_says_what_to_give(tmp_path: Path) -> None:
    keep(tmp_path, "r1", "2026-12-01T10:00:00+00:00", 1, "pass", 12.0)
    result = CliRunner().invoke(main, ["index", "--outputs", str(tmp_path)])
    assert result.exit_code == 0 and (tmp_path / "index.html").is_file()
    assert "Trends need two runs of a study." in (tmp_path / "index.html").read_text()
    missing = CliRunner().invoke(main, ["index", "--outputs", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "is not a folder" in missing.stderr
