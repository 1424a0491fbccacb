"""syncbench.verdict: pass / fail / unknown, and compose (fail > unknown > pass)."""

from __future__ import annotations

import pytest

from syncbench.verdict import FAIL, PASS, UNKNOWN, CheckResult, StudyChecks, compose


def passing(name: str = "p") -> CheckResult:
    return CheckResult(name, True, "0 bad", "0 bad", "all good")


def failing(name: str = "f", *ops: dict) -> CheckResult:
    return CheckResult(name, False, "1 bad", "0 bad", f"{name} broke",
                       counterexample=list(ops) or [{"op_id": 1}])


def unknown(name: str = "u") -> CheckResult:
    return CheckResult.not_reached(name, "the breaker never opened")


def test_the_three_verdicts() -> None:
    assert passing().verdict == PASS
    assert failing().verdict == FAIL
    assert unknown().verdict == UNKNOWN


def test_not_reached_never_passes_and_says_why() -> None:
    result = unknown()
    assert not result.passed and result.unknown
    assert result.observed == "not reached: the breaker never opened"
    assert result.to_dict()["verdict"] == "unknown"


def test_an_unknown_result_cannot_also_pass() -> None:
    with pytest.raises(ValueError, match="cannot also pass"):
        CheckResult("x", True, "-", "-", unknown=True)


@pytest.mark.parametrize("parts, verdict", [
    ([passing(), passing("q")], PASS),
    ([passing(), unknown()], UNKNOWN),
    ([passing(), failing()], FAIL),
    ([unknown(), failing()], FAIL),
    ([failing(), unknown(), passing()], FAIL),
    ([unknown(), unknown("v")], UNKNOWN),
])
def test_compose_fail_beats_unknown_beats_pass(parts: list[CheckResult], verdict: str) -> None:
    composed = compose("all", parts)
    assert composed.verdict == verdict
    assert composed.passed is (verdict == PASS)


def test_compose_names_each_scope_in_observed_messages_and_counterexamples() -> None:
    composed = compose("convergence", {
        "lan": passing("convergence"),
        "wan": failing("convergence", {"task_id": "t1"}, {"task_id": "t2"}),
        "lte": unknown("convergence"),
    })
    assert composed.name == "convergence"
    assert composed.observed == ("lan: 0 bad; wan: 1 bad; "
                                 "lte: not reached: the breaker never opened")
    assert composed.counterexample == [{"scope": "wan", "task_id": "t1"},
                                       {"scope": "wan", "task_id": "t2"}]
    assert composed.message == "[wan] convergence broke"  # the failures, not the unknowns


def test_compose_of_only_unknowns_says_why_each_was_not_reached() -> None:
    composed = compose("paths", [unknown("resume"), unknown("replay")])
    assert composed.message == ("[resume] unknown: the breaker never opened; "
                                "[replay] unknown: the breaker never opened")
    assert composed.counterexample == []


def test_compose_of_a_sequence_scopes_counterexamples_by_check_name() -> None:
    composed = compose("both", [failing("dups", {"key": "k"}), passing("lost")])
    assert composed.counterexample == [{"scope": "dups", "key": "k"}]


def test_compose_of_nothing_passes_and_says_so() -> None:
    composed = compose("empty", [])
    assert composed.passed and composed.observed == "nothing to check"


def test_a_study_with_an_unknown_check_does_not_pass() -> None:
    class Result(StudyChecks):
        def __init__(self, checks: list[CheckResult]) -> None:
            self.checks = checks

    assert Result([passing(), passing("q")]).passed
    assert not Result([passing(), unknown()]).passed
    frame = Result([passing(), unknown()]).checks_frame()
    assert frame["verdict"].tolist() == [PASS, UNKNOWN]
    with pytest.raises(KeyError, match="checks: \\['p', 'u'\\]"):
        Result([passing(), unknown()]).check("missing")
