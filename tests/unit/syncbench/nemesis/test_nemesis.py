"""The Nemesis's own bookkeeping, with a fault kind registered for these tests that marks
what is on in a set (the kinds themselves are exercised on a real stack in
tests/integration/syncbench/nemesis)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from syncbench.history import History
from syncbench.nemesis import PROCESS, FaultKind, Nemesis, fault_windows, register_fault

ON: set[str] = set()
SLOW_START = asyncio.Event()


@register_fault
class MarkFault(FaultKind):
    """Marks its target as on; `slow: true` waits in start until SLOW_START is set."""

    name = "test-mark"
    option_names = ("slow",)

    async def start(self, stack: Any, target: str, options: Mapping[str, Any]) -> Any:
        if options.get("slow"):
            await SLOW_START.wait()
        ON.add(target)
        return target

    async def stop(self, stack: Any, target: str, handle: Any) -> None:
        ON.discard(handle)


@pytest.fixture(autouse=True)
def _clean() -> None:
    global SLOW_START
    ON.clear()
    SLOW_START = asyncio.Event()  # a fresh one: an Event is bound to the loop it waited on


def window(at: float, duration: float, target: str = "a", **options: Any) -> dict[str, Any]:
    return {"at": at, "for": duration, "fault": "test-mark", "target": target, **options}


async def test_play_records_every_start_and_stop_as_process_nemesis() -> None:
    history = History()
    nemesis = Nemesis(None, history)  # type: ignore[arg-type]
    schedule = [window(0.0, 0.05), window(0.05, 0.05), window(0.02, 0.05, "b")]
    await nemesis.play(schedule)
    ops = [op for op in history if op.client == PROCESS]
    assert [op.operation for op in ops].count("start") == 3
    assert all(op.outcome == "ok" for op in ops)
    assert ON == set()
    assert [(w["at"], w["target"]) for w in nemesis.played] == [(0.0, "a"), (0.02, "b"),
                                                                 (0.05, "a")]
    frame = fault_windows(history)
    assert frame["healed"].all() and len(frame) == 3


async def test_leaving_playing_early_takes_off_what_is_on_and_drops_the_rest() -> None:
    history = History()
    nemesis = Nemesis(None, history)  # type: ignore[arg-type]
    async with nemesis.playing([window(0.0, 60.0), window(60.0, 1.0)]):
        for _ in range(200):
            if ON:
                break
            await asyncio.sleep(0.01)
        assert ON == {"a"}
    assert ON == set() and nemesis.active == []
    assert len(nemesis.played) == 1
    assert fault_windows(history)["healed"].tolist() == [True]


async def test_a_fault_landing_as_its_lane_is_cancelled_is_still_taken_off() -> None:
    history = History()
    nemesis = Nemesis(None, history)  # type: ignore[arg-type]
    task = asyncio.create_task(nemesis.play([window(0.0, 60.0, slow=True)]))
    for _ in range(200):
        if any(op.operation == "start" for op in history):
            break
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.sleep(0)
    SLOW_START.set()  # the start completes after the cancel arrived
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ON == set() and nemesis.active == []
    assert [op.operation for op in history] == ["start", "stop"]


async def test_fault_ids_are_unique_across_nemeses_sharing_a_history() -> None:
    history = History()
    first = Nemesis(None, history, phase="one")  # type: ignore[arg-type]
    second = Nemesis(None, history, phase="two")  # type: ignore[arg-type]
    async with first.fault("test-mark", "a"):
        async with second.fault("test-mark", "b"):
            pass
    frame = fault_windows(history)
    assert sorted(frame["phase"]) == ["one", "two"]
    assert frame["fault_id"].is_unique and frame["healed"].all()
    assert (frame["end"] > frame["start"]).all()


async def test_an_imperative_fault_is_played_with_the_duration_it_lasted() -> None:
    nemesis = Nemesis(None, History())  # type: ignore[arg-type]
    active = await nemesis.start("test-mark", "a")
    await asyncio.sleep(0.1)
    await nemesis.stop(active)
    await nemesis.stop(active)  # a second stop does nothing
    (played,) = nemesis.played
    assert played["for"] == pytest.approx(0.1, abs=0.05)
    assert played["fault"] == "test-mark"


async def test_heal_takes_off_everything_still_on() -> None:
    history = History()
    nemesis = Nemesis(None, history)  # type: ignore[arg-type]
    await nemesis.start("test-mark", "a")
    await nemesis.start("test-mark", "b")
    assert await nemesis.heal() == 2
    assert ON == set() and await nemesis.heal() == 0
    assert [op.operation for op in history] == ["start", "start", "stop", "stop"]


async def test_windows_of_another_phase_are_not_played() -> None:
    nemesis = Nemesis(None, History(), phase="lan")  # type: ignore[arg-type]
    await nemesis.play([window(0.0, 0.02, phase="wan"), window(0.0, 0.02, "b", phase="lan"),
                        window(0.0, 0.02, "c")])
    assert sorted(w["target"] for w in nemesis.played) == ["b", "c"]


@pytest.mark.parametrize("in_turn", [True, False])
async def test_in_turn_a_late_window_delays_the_rest_and_keeps_the_gap(in_turn: bool) -> None:
    history = History()
    nemesis = Nemesis(None, history)  # type: ignore[arg-type]
    # window a is slow to come on (0.3 s late); b, on another target, is planned 0.1 s after
    # a's planned end
    asyncio.get_running_loop().call_later(0.3, SLOW_START.set)
    await nemesis.play([window(0.0, 0.05, "a", slow=True), window(0.15, 0.05, "b")],
                       in_turn=in_turn)
    frame = fault_windows(history).set_index("target")
    gap = (frame.loc["b", "start"] - frame.loc["a", "end"]).total_seconds()
    if in_turn:
        assert gap >= 0.1 - 0.01  # the planned gap, after a's late end
    else:
        assert gap < 0  # b played at its time, while a was still on
