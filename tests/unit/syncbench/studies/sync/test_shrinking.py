"""What a failing generated run shrinks: which check and profile, the witness, the first cuts."""

from __future__ import annotations

from syncbench.studies.sync.shrinking import _cuts, first_failure, witness
from syncbench.verdict import CheckResult


def failing(name: str, *scopes: str, rows: list[dict] | None = None) -> CheckResult:
    entries = [{"scope": scope, "rows": rows or []} for scope in scopes]
    return CheckResult(name, False, "x", "y", counterexample=entries)


def test_the_first_profile_with_a_failure_wins_then_the_first_check_failing_there() -> None:
    checks = [CheckResult("ok", True, "", ""), failing("a", "wan"), failing("b", "wan", "lan")]
    check, profile = first_failure(checks, ("lan", "wan"))
    assert (check.name, profile) == ("b", "lan")
    assert first_failure([CheckResult("ok", True, "", "")], ("lan",)) is None


def test_the_witness_is_the_last_step_and_the_clients_its_rows_name() -> None:
    check = failing("x", "lan", rows=[{"op_id": 7, "client": "c1"},
                                      {"op_id": 9, "client": "s0", "step": 3}])
    assert witness(check, {7: 40, 9: 12}) == (40, {"c1", "s0"})


def test_the_cuts_keep_the_prefix_then_the_witness_clients_and_what_they_name() -> None:
    ops = [{"step": 0, "client": "c0"}, {"step": 1, "client": "c1", "task_of": 0},
           {"step": 2, "client": "c2"}, {"step": 3, "client": "c1"}]
    prefix, clients = list(_cuts(ops, 2, {"c1"}))
    assert [op["step"] for op in prefix] == [0, 1, 2]
    assert [op["step"] for op in clients] == [0, 1]  # step 0 is named by step 1
