"""generated_checks on a run that observed no reply (a shrinking trial's short schedule):
checks all the same, no crash."""

from __future__ import annotations

import pandas as pd

from syncbench.explore.records import FRAME_COLUMNS
from syncbench.history import History
from syncbench.studies.sync.checks import GENERATED_FRAMES, generated_checks


def test_a_profile_with_no_observation_still_gets_its_checks() -> None:
    frames = {name: pd.DataFrame(columns=list(dict.fromkeys(["profile", *FRAME_COLUMNS[name]])))
              for name in GENERATED_FRAMES}
    frames["replica_syncs"] = pd.DataFrame([{
        "profile": "lan", "replica": "r0", "op_id": 1, "time": 1.0, "repository": "tasks-0",
        "cursor": 0, "matches_server": True, "differing_tasks": 0, "started": 0.5,
        "pending": 0}])
    frames["windows"] = pd.DataFrame(columns=["fault", "target", "phase", "start", "end"])
    checks, stable = generated_checks(frames, History())
    assert "replica_matches_server" in {check.name for check in checks}
    assert stable is not None and stable.empty
