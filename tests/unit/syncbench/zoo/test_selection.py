"""Which bugs and studies the zoo runs: every one, named ones, each bug's expected studies,
a seeded sample; one-line errors that say what to do."""

from __future__ import annotations

import pytest

from syncbench.params import ParameterError
from syncbench.zoo.selection import select, split_names
from tasksync.bugs import SeededBug

REGISTRY = {bug.name: bug for bug in (
    SeededBug(f"bug{n}", "server", "change feed", f"defect {n}", ("change_feed",),
              ("sync",) if n % 2 else ("conflicts", "sync"))
    for n in range(8))}
STUDIES = ["conflicts", "resilience", "sync"]


def test_by_default_every_bug_meets_every_study_and_the_baseline_runs_them_all() -> None:
    selection = select(STUDIES, registry=REGISTRY)
    assert [bug.name for bug in selection.bugs] == list(REGISTRY)
    assert all(studies == tuple(STUDIES) for studies in selection.studies.values())
    assert selection.baseline_studies == tuple(STUDIES)
    assert selection.cells == 8 * 3 and selection.sample_seed is None


def test_expected_runs_each_bug_against_its_own_studies_only() -> None:
    selection = select(STUDIES, bugs=("bug1", "bug2"), studies=("expected",), registry=REGISTRY)
    assert selection.studies == {"bug1": ("sync",), "bug2": ("conflicts", "sync")}
    assert selection.baseline_studies == ("sync", "conflicts")


def test_a_sample_is_chosen_by_its_seed_and_kept_in_registry_order() -> None:
    first = select(STUDIES, sample=3, seed=11, registry=REGISTRY)
    again = select(STUDIES, sample=3, seed=11, registry=REGISTRY)
    other = select(STUDIES, sample=3, seed=12, registry=REGISTRY)
    names = [bug.name for bug in first.bugs]
    assert names == [bug.name for bug in again.bugs] and len(names) == 3
    assert names == sorted(names, key=list(REGISTRY).index)
    assert first.sample_seed == 11
    assert [bug.name for bug in other.bugs] != names  # seeds 11 and 12 differ here


def test_a_sample_without_a_seed_draws_one_and_says_which() -> None:
    selection = select(STUDIES, sample=2, registry=REGISTRY)
    assert isinstance(selection.sample_seed, int)
    again = select(STUDIES, sample=2, seed=selection.sample_seed, registry=REGISTRY)
    assert again.bugs == selection.bugs


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"bugs": ("nope",)}, "unknown bug 'nope'; `syncbench zoo --list` shows the 8 bugs"),
    ({"studies": ("nope",)}, "unknown study 'nope'; studies: conflicts, resilience, sync, or "
                             "'expected'"),
    ({"studies": ("expected", "sync")}, "'expected' stands alone"),
    ({"sample": 9, "seed": 1}, "--sample 9: choose between 1 and 8"),
    ({"bugs": ("bug1",), "sample": 2, "seed": 1}, "--sample 2: choose between 1 and 1"),
])
def test_bad_input_is_one_line_that_says_what_to_do(kwargs: dict, message: str) -> None:
    with pytest.raises(ParameterError, match="^[^\n]*$") as raised:
        select(STUDIES, registry=REGISTRY, **kwargs)
    assert message in str(raised.value)


def test_an_expected_study_with_no_notebook_is_named_with_its_bug() -> None:
    with pytest.raises(ParameterError, match="unknown study 'conflicts' \\(bug 'bug2' expects it\\)"):
        select(["sync"], bugs=("bug2",), studies=("expected",), registry=REGISTRY)


def test_names_are_split_on_commas() -> None:
    assert split_names(" a, b,,c ") == ("a", "b", "c")
    assert split_names(None) == ()
