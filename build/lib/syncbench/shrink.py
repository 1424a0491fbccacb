"""Delta debugging: the smallest sub-list of a failing input that still fails.

`shrink(items, still_fails, budget_s=...)` is Zeller and Hildebrandt's ddmin ("Simplifying
and Isolating Failure-Inducing Input", 2002): split the current failing list into n parts,
keep a part that fails alone (then n = 2), else a complement that fails (then n - 1), else
split finer (2n); stop when n reaches the list's length. The result is then 1-minimal:
removing any one item makes the failure go away. Candidates keep the items' order, so a
shrunk operation schedule keeps each client's operations in the order they ran.

Every candidate is tested at most once (answers are cached by the positions it keeps), and
the time budget is checked before each test: when it runs out the result is the smallest
failing list found so far, with `complete=False`. The real predicate re-runs a workload on
a fresh server, so it is usually async: `ashrink` takes a predicate that returns a bool or
an awaitable of one. `ashrink_schedule` shrinks an operation schedule, then the fault
schedule played with it.

The algorithm is written once, as a generator of candidates (`_ddmin`); `shrink` and
`ashrink` only differ in how they ask the predicate.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Positions = tuple[int, ...]

# The positions to test next, answered with "still fails?"; returns the last failing one.
_Search = Generator[Positions, bool, Positions]


class NotFailing(ValueError):
    """The whole input does not fail: there is nothing to shrink (a flaky predicate?)."""


@dataclass(frozen=True)
class ShrinkResult(Generic[T]):
    """The smallest failing list found, how many predicate runs it took, and whether ddmin
    finished (`complete`: the list is 1-minimal) or the time budget ran out first."""

    minimal: list[T]
    trials: int
    elapsed_s: float
    complete: bool


def _split(positions: Positions, parts: int) -> list[Positions]:
    """`positions` cut into `parts` contiguous chunks whose sizes differ by at most one."""
    size, extra = divmod(len(positions), parts)
    chunks, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        chunks.append(positions[start:end])
        start = end
    return chunks


def _ddmin(size: int, granularity_start: int) -> _Search:
    """ddmin over positions 0..size-1 (known to fail as a whole)."""
    current: Positions = tuple(range(size))
    parts = granularity_start
    while len(current) > 1:
        parts = min(parts, len(current))
        chunks = _split(current, parts)
        for chunk in chunks:
            if (yield chunk):
                current, parts = chunk, 2
                break
        else:
            # with two parts each complement is the other part, already tested
            complements = [] if parts == 2 else [
                tuple(p for p in current if p not in dropped)
                for dropped in map(frozenset, chunks)]
            for complement in complements:
                if (yield complement):
                    current, parts = complement, max(parts - 1, 2)
                    break
            else:
                if parts >= len(current):
                    return current
                parts = min(len(current), parts * 2)
    # one item (or none) left: it is 1-minimal unless nothing at all still fails
    if current and (yield ()):
        current = ()
    return current


class _Driver(Generic[T]):
    """Runs `_ddmin` against a predicate: the cache, the budget, the trial count."""

    def __init__(self, items: Sequence[T], budget_s: float, granularity_start: int) -> None:
        if granularity_start < 2:
            raise ValueError(f"granularity_start must be 2 or more, got {granularity_start}")
        if budget_s <= 0:
            raise ValueError(f"budget_s must be positive, got {budget_s}")
        self.items = list(items)
        self.started = time.monotonic()
        self.deadline = self.started + budget_s
        self.search = _ddmin(len(self.items), granularity_start)
        self.cache: dict[Positions, bool] = {}
        self.best: Positions = tuple(range(len(self.items)))
        self.trials = 0

    def candidate(self, positions: Positions) -> list[T]:
        return [self.items[p] for p in positions]

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline

    def record(self, positions: Positions, fails: bool) -> None:
        self.trials += 1
        self.cache[positions] = fails
        if fails and len(positions) < len(self.best):
            self.best = positions

    def result(self, complete: bool) -> ShrinkResult[T]:
        return ShrinkResult(minimal=self.candidate(self.best), trials=self.trials,
                            elapsed_s=time.monotonic() - self.started, complete=complete)


def _not_failing(count: int) -> NotFailing:
    return NotFailing(f"the whole input ({count} items) does not fail, so there is nothing to "
                      "shrink; check that the predicate reproduces the failure "
                      "(same seed, same parameters), or pass check_first=False if it is known")


def shrink(items: Sequence[T], still_fails: Callable[[list[T]], bool], *, budget_s: float,
           granularity_start: int = 2, check_first: bool = True) -> ShrinkResult[T]:
    """The smallest sub-list of `items` for which `still_fails` is true, by ddmin.

    `check_first` tests the whole list first (NotFailing when it passes); turn it off when
    the caller has just seen it fail and a trial is expensive.
    """
    driver = _Driver(items, budget_s, granularity_start)
    if check_first:
        fails = bool(still_fails(list(driver.items)))
        driver.record(driver.best, fails)
        if not fails:
            raise _not_failing(len(driver.items))
    try:
        positions = next(driver.search)
        while True:
            if positions not in driver.cache:
                if driver.out_of_time():
                    return driver.result(complete=False)
                driver.record(positions, bool(still_fails(driver.candidate(positions))))
            positions = driver.search.send(driver.cache[positions])
    except StopIteration:
        return driver.result(complete=True)


async def ashrink(items: Sequence[T],
                  still_fails: Callable[[list[T]], bool | Awaitable[bool]], *,
                  budget_s: float, granularity_start: int = 2,
                  check_first: bool = True) -> ShrinkResult[T]:
    """`shrink` for a predicate that may be async (one that re-runs a workload)."""
    async def ask(candidate: list[T]) -> bool:
        answer = still_fails(candidate)
        return bool(await answer) if inspect.isawaitable(answer) else bool(answer)

    driver = _Driver(items, budget_s, granularity_start)
    if check_first:
        fails = await ask(list(driver.items))
        driver.record(driver.best, fails)
        if not fails:
            raise _not_failing(len(driver.items))
    try:
        positions = next(driver.search)
        while True:
            if positions not in driver.cache:
                if driver.out_of_time():
                    return driver.result(complete=False)
                driver.record(positions, await ask(driver.candidate(positions)))
            positions = driver.search.send(driver.cache[positions])
    except StopIteration:
        return driver.result(complete=True)


def nested_values(data: Any, key: str) -> Iterator[Any]:
    """Every value of `key` anywhere in nested dicts and lists (what a counterexample names:
    its op ids, steps, clients, repositories: where to start shrinking)."""
    if isinstance(data, dict):
        for name, value in data.items():
            if name == key:
                yield value
            yield from nested_values(value, key)
    elif isinstance(data, list):
        for value in data:
            yield from nested_values(value, key)


@dataclass(frozen=True)
class ScheduleShrinkResult:
    """A minimal operation schedule and fault schedule that still fail together."""

    operations: list[dict[str, Any]]
    schedule: list[dict[str, Any]]
    trials: int
    elapsed_s: float
    complete: bool


async def ashrink_schedule(
    operations: Sequence[dict[str, Any]],
    schedule: Sequence[dict[str, Any]],
    still_fails: Callable[[list[dict[str, Any]], list[dict[str, Any]]], bool | Awaitable[bool]],
    *,
    budget_s: float,
    check_first: bool = True,
) -> ScheduleShrinkResult:
    """Shrink an operation schedule, then the fault windows played with it, in one budget.

    Operations first (faults as given; what a failure needs is usually a few operations),
    then fault windows (with the minimal operations). Each stage is ddmin over a list, so
    the operations kept run in their recorded order and each client's order is kept.
    `still_fails(operations, schedule)` may be sync or async.
    """
    started = time.monotonic()
    deadline = started + budget_s
    faults = list(schedule)

    def left() -> float:
        return max(deadline - time.monotonic(), 1e-9)

    ops = await ashrink(operations, lambda ops: still_fails(ops, faults), budget_s=left(),
                        check_first=check_first)
    trials, complete = ops.trials, ops.complete
    minimal_ops = ops.minimal
    if complete and faults:
        windows = await ashrink(faults, lambda w: still_fails(minimal_ops, w), budget_s=left(),
                                check_first=False)  # the ops stage ended on a failing pair
        faults, trials, complete = windows.minimal, trials + windows.trials, windows.complete
    return ScheduleShrinkResult(operations=minimal_ops, schedule=faults, trials=trials,
                                elapsed_s=time.monotonic() - started, complete=complete)


__all__ = ["NotFailing", "ScheduleShrinkResult", "ShrinkResult", "ashrink", "ashrink_schedule",
           "nested_values", "shrink"]
