"""Which generated contests a failing conflicts run shrinks: those its counterexample names."""

from __future__ import annotations

import json

import pandas as pd

from syncbench.studies.conflicts.shrinking import failing_contests
from syncbench.study import StudyResult
from syncbench.verdict import CheckResult


def result(checks: list[CheckResult]) -> StudyResult:
    outcomes = pd.DataFrame([
        {"workload": "nominal", "repository": "c-edit", "spec": ""},
        {"workload": "generated", "repository": "g-0", "spec": json.dumps({"contest": 0})},
        {"workload": "generated", "repository": "g-1", "spec": json.dumps({"contest": 1})},
    ])
    return StudyResult(study="conflicts", params=None, checks=checks,  # type: ignore[arg-type]
                       frames={"outcomes": outcomes})


def test_the_first_failing_check_naming_generated_contests_gives_them_and_all() -> None:
    nominal_only = CheckResult("a", False, "", "", counterexample=[{"repository": "c-edit"}])
    named = CheckResult("b", False, "", "", counterexample=[{"repository": "g-1"}])
    check, contests, everything = failing_contests(result([nominal_only, named]))
    assert check.name == "b"
    assert contests == [{"contest": 1}] and everything == [{"contest": 0}, {"contest": 1}]


def test_a_failure_only_in_the_nominal_part_has_nothing_to_shrink() -> None:
    nominal_only = CheckResult("a", False, "", "", counterexample=[{"repository": "c-edit"}])
    assert failing_contests(result([nominal_only])) is None
