"""The run summary's coverage section: per-module rows, totals, lowest modules, per study; and
the hand-off of a run's data to an outer measurement (pytest-cov under `make test`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from coverage import CoverageData

from syncbench.runner.coverage_measure import OuterMeasurement, hand_to_outer
from syncbench.runner.coverage_summary import (
    ModuleCoverage,
    coverage_section,
    disabled_section,
    lowest,
    module_coverage,
    module_name,
    percent,
    totals,
)
from syncbench.runner.index import coverage_html, index_html
from syncbench.runner.plan import plan_studies

PACKAGE = Path("/project/lib/tasksync")


def module(name: str, statements: int, missed: int) -> ModuleCoverage:
    return ModuleCoverage(module=name, path=name.replace(".", "/") + ".py",
                          statements=statements, missed=missed)


def test_module_names_are_dotted_and_a_package_is_named_by_its_init() -> None:
    assert module_name(PACKAGE / "server" / "http_api.py", PACKAGE) == "tasksync.server.http_api"
    assert module_name(PACKAGE / "server" / "__init__.py", PACKAGE) == "tasksync.server"
    assert module_name(PACKAGE / "__init__.py", PACKAGE) == "tasksync"


def test_a_module_row_carries_the_project_path_and_its_counts() -> None:
    row = module_coverage(PACKAGE / "server" / "http_api.py", PACKAGE, statements=152, missed=47)
    assert row.to_dict() == {"module": "tasksync.server.http_api",
                             "path": "lib/tasksync/server/http_api.py",
                             "statements": 152, "missed": 47, "percent": 69.0}
    assert row.covered == 105


def test_more_missed_than_statements_is_refused() -> None:
    with pytest.raises(ValueError, match="3 missed of 2 statements"):
        module_coverage(PACKAGE / "ids.py", PACKAGE, statements=2, missed=3)


def test_percent_never_rounds_a_missed_line_up_to_100() -> None:
    assert percent(9999, 10000) == 99.9
    assert percent(2, 3) == 66.6
    assert percent(0, 0) == 100.0  # an empty __init__, as coverage.py counts it
    assert percent(0, 5) == 0.0


def test_totals_sum_statements_not_percentages() -> None:
    # mean of percentages would be 50%; 10 of 110 statements ran
    assert totals([module("a", 100, 100), module("b", 10, 0)]) == {
        "statements": 110, "missed": 100, "covered": 10, "percent": 9.0}
    assert totals([])["percent"] == 100.0


def test_lowest_puts_the_least_covered_first_and_breaks_ties_by_missed_lines() -> None:
    modules = [module("full", 10, 0), module("small_zero", 2, 2), module("big_zero", 50, 50),
               module("half", 10, 5)]
    assert [m.module for m in lowest(modules, 3)] == ["big_zero", "small_zero", "half"]


def test_the_section_holds_run_total_modules_and_each_study() -> None:
    run = [module("tasksync.server.http_api", 100, 20), module("tasksync.cli", 50, 50)]
    section = coverage_section(
        package="lib/tasksync", modules=run,
        studies={"sync": [module("tasksync.server.http_api", 100, 60),
                          module("tasksync.cli", 50, 50)],
                 "conflicts": [module("tasksync.server.http_api", 100, 30),
                               module("tasksync.cli", 50, 50)]},
        processes={"sync": 3, "conflicts": 2},
        html="coverage/html/index.html", data_file="coverage/.coverage")
    assert section["enabled"] is True
    assert (section["statements"], section["missed"], section["percent"]) == (150, 70, 53.3)
    assert [m["module"] for m in section["modules"]] == ["tasksync.cli",
                                                        "tasksync.server.http_api"]
    assert section["lowest"][0] == "tasksync.cli"
    assert section["studies"]["sync"] == {"statements": 150, "missed": 110, "covered": 40,
                                          "percent": 26.6, "processes": 3}
    assert section["studies"]["conflicts"]["percent"] == 46.6
    assert section["html"] == "coverage/html/index.html"


def arcs_data(path: Path, files: dict[str, list[tuple[int, int]]]) -> CoverageData:
    data = CoverageData(basename=str(path))
    data.add_arcs(files)
    data.write()
    return data


def written(directory: Path) -> CoverageData:
    [path] = directory.glob(".coverage.*")
    data = CoverageData(basename=str(path))
    data.read()
    return data


def test_an_outer_branch_measurement_gets_the_arcs_of_the_files_it_measures(
        tmp_path: Path) -> None:
    ours = arcs_data(tmp_path / "ours", {"/src/lib/tasksync/a.py": [(-1, 1), (1, 2), (2, -1)],
                                         "/src/lib/syncbench/b.py": [(-1, 5), (5, -1)]})
    outer = OuterMeasurement(data_file=tmp_path / "outer" / ".coverage", branch=True,
                             source=(str(tmp_path),), source_pkgs=())
    (tmp_path / "outer").mkdir()
    # source dirs that exist decide which files it measures: none of ours is under tmp_path
    assert hand_to_outer(ours, outer) is None
    outer = OuterMeasurement(data_file=tmp_path / "outer" / ".coverage", branch=True,
                             source=(), source_pkgs=())
    path = hand_to_outer(ours, outer)
    assert path is not None and path.name.startswith(".coverage.")
    data = written(tmp_path / "outer")
    assert data.has_arcs()
    assert sorted(data.arcs("/src/lib/tasksync/a.py")) == [(-1, 1), (1, 2), (2, -1)]
    assert data.measured_files() == {"/src/lib/tasksync/a.py", "/src/lib/syncbench/b.py"}


def test_an_outer_line_measurement_gets_lines_only_for_its_source(tmp_path: Path) -> None:
    source = tmp_path / "lib" / "tasksync"
    source.mkdir(parents=True)
    inside, outside = str(source / "a.py"), str(tmp_path / "other.py")
    empty = str(source / "__init__.py")
    ours = arcs_data(tmp_path / "ours", {inside: [(-1, 1), (1, 3), (3, -1)],
                                         empty: [(-1, 0), (0, -1)],
                                         outside: [(-1, 7), (7, -1)]})
    (tmp_path / "outer").mkdir()
    outer = OuterMeasurement(data_file=tmp_path / "outer" / ".coverage", branch=False,
                             source=(str(source),), source_pkgs=())
    hand_to_outer(ours, outer)
    data = written(tmp_path / "outer")
    assert not data.has_arcs()
    assert data.measured_files() == {inside, empty}
    assert sorted(data.lines(inside)) == [1, 3]
    assert data.lines(empty) == [0]  # as a line measurement records an empty module


def test_a_study_left_out_is_named_with_its_reason_in_the_section_and_the_index() -> None:
    section = coverage_section(
        package="lib/tasksync", modules=[module("tasksync.cli", 10, 4)],
        studies={"sync": [module("tasksync.cli", 10, 4)]}, processes={"sync": 2},
        html=None, data_file="coverage/.coverage",
        left_out={"performance": "its verdicts rest on timings"})
    assert section["left_out"] == {"performance": "its verdicts rest on timings"}
    run = {"run_id": "r", "status": "pass", "git": {"revision": "abc", "dirty": False},
           "params_file": None, "started_at": "now", "coverage": section,
           "studies": [{"study": name, "status": "pass", "checks": [], "reason": "",
                        "duration_s": 1.0, "html": f"{name}.html",
                        "notebook": f"{name}.ipynb"} for name in ("sync", "performance")]}
    page = index_html(run)
    assert "<h2>Reach: 60.0% of lib/tasksync</h2>" in page
    assert "<td>60.0%</td>" in page  # the sync row's reach column
    assert "title='its verdicts rest on timings'>not measured" in page
    assert "<tr><td>tasksync.cli</td><td>10</td><td>4</td><td>60.0%</td></tr>" in page


def test_the_index_says_when_reach_was_not_measured() -> None:
    assert "Reach not measured (--no-coverage)" in coverage_html(disabled_section("--no-coverage"))


def test_the_performance_study_is_planned_as_timed_and_the_others_not() -> None:
    plans = plan_studies(Path(__file__).resolve().parents[3] / "notebooks")
    timed = {plan.study: plan.timed for plan in plans}
    assert timed["performance"] is True
    assert not any(timed[name] for name in ("sync", "resilience", "conflicts"))
    assert timed["example"] is False  # not registered: an ad-hoc notebook is measured
