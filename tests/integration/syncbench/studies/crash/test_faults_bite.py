"""Faults must be seen to bite: a crash study whose crash, pause or clock fault silently
does nothing (recorded on the timeline, but never put on) reports that kind's path as
UNKNOWN, while the kinds that did act reach theirs: the run cannot pass as a success."""

from __future__ import annotations

from typing import Any

import pytest

from syncbench.nemesis import fault_kind
from syncbench.studies.crash import CrashParams, run
from syncbench.verdict import FAIL, UNKNOWN

KINDS = ("crash", "pause", "clock")
PATH_OF = {"crash": "crash_with_writes_in_flight", "pause": "held_while_paused",
           "clock": "stamped_by_moved_clock"}
pytestmark = pytest.mark.xdist_group("crash-study")


async def nothing(*args: Any) -> None:
    return None


@pytest.mark.timeout(360)  # a crash study of 150 operations: ~70 s idle, 2-3x that loaded
@pytest.mark.parametrize("dud", KINDS)
async def test_a_fault_that_did_nothing_leaves_its_path_unknown(
        dud: str, monkeypatch: pytest.MonkeyPatch) -> None:
    kind = fault_kind(dud)
    monkeypatch.setattr(kind, "start", nothing)
    monkeypatch.setattr(kind, "stop", nothing)
    params = CrashParams(faults=list(KINDS), fault_windows=9, generated_operations=150,
                         subscribers=1, cli_replicas=1, replicas=1, shrink_budget_s=0)
    result = await run(params)
    check = result.check("faults_bite")
    assert check.verdict == UNKNOWN, check
    assert f"[{PATH_OF[dud]}]" in check.message
    assert result.paths[PATH_OF[dud]]["count"] == 0
    for live in set(KINDS) - {dud}:
        assert result.paths[PATH_OF[live]]["count"] >= 1, (live, result.paths)
    # the dud still sits on the timeline: it was scheduled and "played", it just did nothing
    assert dud in set(result.frames["windows"]["fault"])
    others = [c for c in result.checks if c.name != "faults_bite"]
    # nothing else fails (a check this small a run cannot reach may be unknown)
    failed = [c for c in others if c.verdict == FAIL]
    assert not failed, [(c.name, c.message, c.counterexample[:3]) for c in failed]
