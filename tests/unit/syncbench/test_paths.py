"""Declared paths: counted over a result, stored for the summary, and a path never reached
makes `faults_bite` unknown (not a pass), naming it."""

from __future__ import annotations

from types import SimpleNamespace

from syncbench.paths import CHECK, DeclaredPath, paths_reached
from syncbench.verdict import UNKNOWN


def declared(**counts: int) -> list[DeclaredPath]:
    return [DeclaredPath(name, f"{name} happened", lambda _, n=count: n)
            for name, count in counts.items()]


def test_every_path_reached_passes_and_the_counts_are_kept() -> None:
    result = SimpleNamespace()
    check = paths_reached(result, declared(crash=3, pause=1))
    assert check.name == CHECK and check.passed
    assert result.paths == {"crash": {"description": "crash happened", "count": 3},
                            "pause": {"description": "pause happened", "count": 1}}


def test_a_path_never_reached_is_unknown_and_named() -> None:
    result = SimpleNamespace()
    check = paths_reached(result, declared(crash=2, clock=0))
    assert check.verdict == UNKNOWN and not check.passed
    assert "clock" in check.message and "never happened" in check.message
    assert "crash" not in check.message
    assert result.paths["clock"]["count"] == 0


def test_no_declared_path_is_a_pass_that_says_so() -> None:
    check = paths_reached(SimpleNamespace(), [])
    assert check.passed and check.observed == "no paths declared"
