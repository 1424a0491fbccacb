"""fault_windows: one row per fault the nemesis put on, from the History only."""

from __future__ import annotations

from syncbench.history import History
from syncbench.nemesis import PROCESS, fault_windows


def _fault(history: History, phase: str, fault_id: int, target: str) -> None:
    history.invoke(PROCESS, "start", fault_id=fault_id, fault="offline", target=target,
                   label="offline", phase=phase).ok()
    history.invoke(PROCESS, "stop", fault_id=fault_id, fault="offline", target=target,
                   label="offline", phase=phase).ok()


def test_phases_numbering_their_faults_alike_keep_every_window() -> None:
    history = History()
    _fault(history, "lan", 1, "replica-0")
    _fault(history, "wan", 1, "replica-2")
    history.invoke(PROCESS, "start", fault_id=2, fault="offline", target="subscriber-0",
                   label="offline", phase="wan").ok()

    windows = fault_windows(history)

    assert list(zip(windows["phase"], windows["fault_id"], windows["target"],
                    windows["healed"], strict=True)) == [
        ("lan", 1, "replica-0", True), ("wan", 1, "replica-2", True),
        ("wan", 2, "subscriber-0", False)]
    assert (windows["end"] >= windows["start"]).all()
