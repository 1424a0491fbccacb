"""fallbacks_justified: a resync or full reload needs a pruned log behind it."""

from __future__ import annotations

import pandas as pd

from syncbench.studies.sync.checks import fallbacks_justified


def resync(after: int, earliest: int) -> dict:
    return {"profile": "lan", "subscriber": "s0", "connection": 2, "repository": "r",
            "action": "resync", "after": after, "time": 1.0, "earliest_seq": earliest}


SYNCS = pd.DataFrame([{"replica": "r0", "op_id": 5, "resynced": True},
                      {"replica": "r1", "op_id": 6, "resynced": False}])


def test_resyncs_past_a_pruned_position_and_reloads_of_a_pruned_log_pass() -> None:
    result = fallbacks_justified(pd.DataFrame([resync(3, 10)]), SYNCS, log_retention=30)
    assert result.verdict == "pass", result.message
    assert result.observed.startswith("1 resync_required, 1 replica full reloads")


def test_a_resync_while_the_log_still_holds_the_next_seq_fails() -> None:
    result = fallbacks_justified(pd.DataFrame([resync(3, 4)]), SYNCS, log_retention=30)
    assert result.verdict == "fail" and "still starts at 4" in result.message


def test_any_fallback_without_pruning_fails() -> None:
    result = fallbacks_justified(pd.DataFrame([resync(3, 10)]), SYNCS, log_retention=0)
    assert result.verdict == "fail" and len(result.counterexample) == 2


def test_a_reload_whose_gap_the_final_log_still_holds_was_a_skipped_pull() -> None:
    reload = {"profile": "lan", "replica": "r0", "repository": "r", "op_id": 5,
              "resynced": True, "gap_after": 3, "gap_first": 8}
    log = pd.DataFrame([{"profile": "lan", "repository": "r", "seq": seq}
                        for seq in range(6, 12)])
    result = fallbacks_justified(pd.DataFrame([resync(3, 10)]), pd.DataFrame([reload]),
                                 log_retention=30, change_log=log)
    assert result.verdict == "fail"
    assert "the log still holds 6 (and 1 more): never pruned" in result.message
    # pruned up to the seq the pull began at: the reload had its cause
    pruned = log[log["seq"] >= 8]
    assert fallbacks_justified(pd.DataFrame([resync(3, 10)]), pd.DataFrame([reload]),
                               log_retention=30, change_log=pruned).verdict == "pass"
    # another repository's log says nothing about this one's gap
    other = log.assign(repository="elsewhere")
    assert fallbacks_justified(pd.DataFrame([resync(3, 10)]), pd.DataFrame([reload]),
                               log_retention=30, change_log=other).verdict == "pass"
