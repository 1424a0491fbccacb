"""The `clock` fault kind: options checked, a client's clock off only while it is on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncbench.nemesis import ScheduleError, fault_kind, parse_schedule
from syncbench.studies.conflicts.clock import client_clocks


class FakeStack:  # the kind needs only an object to hang the clocks on
    pass


@pytest.mark.parametrize("skew", [0, 0.0, True, "5", float("nan"), 90_000])
def test_a_bad_skew_is_refused_by_the_schedule(skew) -> None:
    with pytest.raises(ScheduleError, match="skew_s"):
        parse_schedule([{"at": 0, "for": 1, "fault": "client_clock", "target": "c", "skew_s": skew}])


def test_the_label_says_the_skew() -> None:
    assert fault_kind("client_clock").label({"skew_s": -300.0}) == "client clock -300s"


async def test_a_clients_clock_is_skewed_while_the_fault_is_on() -> None:
    stack = FakeStack()
    kind = fault_kind("client_clock")
    clock = client_clocks(stack).clock("c1")
    other = client_clocks(stack).clock("c2")
    await kind.start(stack, "c1", kind.options({"skew_s": 3600}))
    ahead = (clock() - datetime.now(UTC)).total_seconds()
    assert 3599 < ahead < 3601
    assert abs((other() - datetime.now(UTC)).total_seconds()) < 1
    await kind.stop(stack, "c1", None)
    assert abs((clock() - datetime.now(UTC)).total_seconds()) < 1


def test_a_pinned_clock_reads_the_instant_until_the_block_ends() -> None:
    clocks = client_clocks(FakeStack())
    clock = clocks.clock("c1")
    moment = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    with clocks.pinned("c1", moment):
        assert clock() == moment and clock() == moment
    assert abs((clock() - datetime.now(UTC)).total_seconds()) < 1
    with clocks.pinned("c1", None):  # nothing to pin to: the clock runs on
        assert abs((clock() - datetime.now(UTC)).total_seconds()) < 1
