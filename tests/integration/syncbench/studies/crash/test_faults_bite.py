"""Faults must be seen to bite: a crash study whose crash, pause or clock fault silently
does nothing (recorded on the timeline, but never put on) reports that kind's path as
UNKNOWN, while the kinds that did act reach theirs: the run cannot pass as a success."""

from __future__ import annotations

from typing import Any

import pytest

from syncbench.nemesis import fault_kind
from syncbench.studies.crash import CrashParams, run
from syncbench.verdict import FAIL, UNKNOWN

DUDS = ("crash", "pause", "clock")
LIVE = "restart"
PATH_OF = {"crash": "crash_with_writes_in_flight", "pause": "held_while_paused",
           "clock": "stamped_by_moved_clock", "restart": "resumed_after_restart"}
pytestmark = pytest.mark.xdist_group("crash-study")


async def nothing(*args: Any) -> None:
    return None


@pytest.mark.timeout(360)  # one crash study of 150 operations: ~70 s idle, 2-3x that loaded
async def test_faults_that_did_nothing_leave_their_paths_unknown(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # one run, three duds (each kind's path is judged on its own) beside one live kind
    for dud in DUDS:
        kind = fault_kind(dud)
        monkeypatch.setattr(kind, "start", nothing)
        monkeypatch.setattr(kind, "stop", nothing)
    params = CrashParams(faults=[*DUDS, LIVE], fault_windows=8, generated_operations=150,
                         subscribers=1, cli_replicas=1, replicas=1, shrink_budget_s=0)
    result = await run(params)
    check = result.check("faults_bite")
    assert check.verdict == UNKNOWN, check
    for dud in DUDS:
        assert f"[{PATH_OF[dud]}]" in check.message, (dud, check.message)
        assert result.paths[PATH_OF[dud]]["count"] == 0
        # the dud still sits on the timeline: scheduled and "played", it just did nothing
        assert dud in set(result.frames["windows"]["fault"])
    assert result.paths[PATH_OF[LIVE]]["count"] >= 1, result.paths
    assert f"[{PATH_OF[LIVE]}]" not in check.message
    others = [c for c in result.checks if c.name != "faults_bite"]
    # nothing else fails (a check this small a run cannot reach may be unknown)
    failed = [c for c in others if c.verdict == FAIL]
    assert not failed, [(c.name, c.message, c.counterexample[:3]) for c in failed]
