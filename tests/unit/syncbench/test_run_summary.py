"""The run summary counts the seeded bugs the studies caught."""

from __future__ import annotations

from syncbench.runner.summary import seeded_bugs


def study(name: str, bug: str, status: str, failed: tuple[str, ...] = ()) -> dict:
    checks = [{"name": check, "passed": False} for check in failed] + [{"name": "ok", "passed": True}]
    return {"study": name, "status": status, "parameters": {"seeded_bug": bug}, "checks": checks}


def test_a_seeded_bug_is_caught_when_a_check_failed() -> None:
    summary = seeded_bugs([
        study("sync", "skip_event", "fail", ("subscribers saw every event",)),
        study("conflicts", "blind_overwrite", "pass"),
        study("performance", "", "pass"),
    ])
    assert (summary["run"], summary["caught"]) == (2, 1)
    assert summary["studies"][0] == {"study": "sync", "bug": "skip_event", "caught": True,
                                     "failed_checks": ["subscribers saw every event"]}
    assert summary["studies"][1]["caught"] is False


def test_an_errored_study_did_not_catch_its_bug() -> None:
    assert seeded_bugs([study("sync", "skip_event", "error")])["caught"] == 0
