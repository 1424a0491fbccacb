"""ddmin (syncbench.shrink): minimal failing sub-lists from synthetic predicates, the time
budget, the cache, determinism, async predicates, and operation + fault schedules."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncbench.shrink import NotFailing, ashrink, ashrink_schedule, shrink


def needs(*required: int):
    """A predicate that fails when every one of `required` is in the candidate."""
    return lambda items: set(required) <= set(items)


def one_minimal(result: list[int], still_fails) -> bool:
    return all(not still_fails(result[:i] + result[i + 1:]) for i in range(len(result)))


def test_a_failure_needing_one_item_shrinks_to_that_item() -> None:
    result = shrink(list(range(100)), needs(42), budget_s=10)
    assert result.minimal == [42]
    assert result.complete
    assert result.trials < 30  # log2(100) splits, not 100 runs


def test_a_failure_needing_two_items_far_apart_shrinks_to_both() -> None:
    result = shrink(list(range(64)), needs(3, 60), budget_s=10)
    assert result.minimal == [3, 60]
    assert result.complete


def test_a_three_item_interaction_keeps_all_three_in_their_order() -> None:
    result = shrink(list(range(50)), needs(7, 21, 44), budget_s=10)
    assert result.minimal == [7, 21, 44]


def test_an_interaction_that_needs_an_order_is_found_in_that_order() -> None:
    # fails when "b" comes after "a": ddmin keeps the items' order, so it finds a then b
    items = ["x", "a", "y", "b", "z", "a"]

    def a_then_b(candidate: list[str]) -> bool:
        return "a" in candidate and "b" in candidate[candidate.index("a"):]

    assert shrink(items, a_then_b, budget_s=10).minimal == ["a", "b"]


def test_each_candidate_is_tested_once() -> None:
    seen: list[tuple[int, ...]] = []

    def predicate(items: list[int]) -> bool:
        seen.append(tuple(items))
        return {5, 9} <= set(items)

    result = shrink(list(range(16)), predicate, budget_s=10)
    assert len(seen) == len(set(seen)) == result.trials


def test_when_the_budget_runs_out_the_smallest_failing_list_found_is_returned() -> None:
    def slow(items: list[int]) -> bool:
        time.sleep(0.02)  # a predicate that costs time (the thing the budget is for)
        return {1, 2, 3} <= set(items)

    # ~7 trials fit: each halves the list, which needs 13 or so to finish
    result = shrink(list(range(200)), slow, budget_s=0.15)
    assert not result.complete
    assert {1, 2, 3} <= set(result.minimal), "whatever came back must still fail"
    assert len(result.minimal) <= 100, "it got somewhere before the budget ran out"
    assert result.elapsed_s < 1.0


def test_the_same_input_and_predicate_give_the_same_result() -> None:
    first = shrink(list(range(30)), needs(2, 11, 29), budget_s=10)
    again = shrink(list(range(30)), needs(2, 11, 29), budget_s=10)
    assert (first.minimal, first.trials) == (again.minimal, again.trials)


def test_an_input_that_does_not_fail_is_refused() -> None:
    with pytest.raises(NotFailing, match="does not fail"):
        shrink([1, 2, 3], needs(4), budget_s=10)


def test_a_failure_needing_nothing_shrinks_to_the_empty_list() -> None:
    assert shrink([1, 2, 3], lambda items: True, budget_s=10).minimal == []


def test_a_bad_granularity_is_refused() -> None:
    with pytest.raises(ValueError, match="granularity_start"):
        shrink([1, 2], needs(1), budget_s=10, granularity_start=1)


async def test_an_async_predicate_shrinks_the_same_way() -> None:
    async def still_fails(items: list[int]) -> bool:
        await asyncio.sleep(0)
        return {4, 8} <= set(items)

    result = await ashrink(list(range(20)), still_fails, budget_s=10)
    assert result.minimal == [4, 8]
    assert result.trials == shrink(list(range(20)), needs(4, 8), budget_s=10).trials


async def test_a_schedule_shrinks_operations_then_fault_windows_keeping_client_order() -> None:
    operations = [{"step": step, "client": client, "op": op}
                  for step, (client, op) in enumerate(itertools.product(
                      ("c1", "c2", "c3"), ("create", "update", "read", "delete")))]
    faults = [{"at": at, "for": 0.5, "fault": "offline", "target": f"c{n}"}
              for n, at in ((1, 0.0), (2, 1.0), (3, 2.0))]

    def still_fails(ops: list[dict], windows: list[dict]) -> bool:
        # c2 updates then deletes while c2 is offline
        c2 = [op["op"] for op in ops if op["client"] == "c2"]
        offline = any(w["target"] == "c2" for w in windows)
        return offline and "update" in c2 and "delete" in c2[c2.index("update"):]

    result = await ashrink_schedule(operations, faults, still_fails, budget_s=10)
    assert [(op["client"], op["op"]) for op in result.operations] == [
        ("c2", "update"), ("c2", "delete")]
    assert [w["target"] for w in result.schedule] == ["c2"]
    assert result.complete
    assert result.trials > 0


# -- properties: any deterministic predicate ------------------------------------------------

culprits = st.lists(st.frozensets(st.integers(0, 19), min_size=1, max_size=4),
                    min_size=1, max_size=3)


@settings(max_examples=150, deadline=None)
@given(size=st.integers(1, 20), sets=culprits, granularity=st.integers(2, 6))
def test_the_result_still_fails_and_is_one_minimal(size: int, sets: list[frozenset[int]],
                                                   granularity: int) -> None:
    items = list(range(size))
    sets = [s for s in (frozenset(i for i in s if i < size) for s in sets) if s] or [
        frozenset({0})]

    def still_fails(candidate: list[int]) -> bool:
        return any(s <= set(candidate) for s in sets)

    result = shrink(items, still_fails, budget_s=60, granularity_start=granularity)
    assert still_fails(result.minimal)
    assert result.complete
    assert one_minimal(result.minimal, still_fails)
    assert result.minimal == sorted(result.minimal), "order kept"


@settings(max_examples=100, deadline=None)
@given(size=st.integers(1, 12), failing=st.sets(st.integers(0, 2**12 - 1), max_size=200))
def test_even_a_non_monotone_predicate_gives_a_failing_one_minimal_result(
        size: int, failing: set[int]) -> None:
    """Failure is any set of subsets (as bit masks) plus the whole list: no structure."""
    whole = (1 << size) - 1

    def still_fails(candidate: list[int]) -> bool:
        mask = sum(1 << i for i in candidate)
        return mask == whole or mask in failing

    result = shrink(list(range(size)), still_fails, budget_s=60)
    assert still_fails(result.minimal)
    assert one_minimal(result.minimal, still_fails)
