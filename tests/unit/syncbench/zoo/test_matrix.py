"""The detection matrix from hand-made study summaries: caught, missed, error, the baseline,
each bug's verdict, the rates and the exit code."""

from __future__ import annotations

from syncbench.zoo.matrix import (
    ALL_CAUGHT,
    CAUGHT,
    DOUBTFUL,
    ERROR,
    INCOMPLETE,
    INTERRUPTED,
    MISSED,
    NO_BUG,
    NOT_ALL_CAUGHT,
    bug_verdict,
    classify,
    detection,
    zoo_verdict,
)
from tasksync.bugs import SeededBug

FEED = SeededBug("skip_event", "server", "change feed", "drops events",
                 ("subscribers_saw_every_event", "change_feed"), ("sync",))
CLIENT = SeededBug("stale_cursor", "client", "cursors and pruning", "keeps an old cursor",
                   ("convergence",), ("sync", "conflicts"))


def summary(study: str, status: str, **verdicts: str) -> dict:
    checks = [{"name": name, "verdict": verdict, "passed": verdict == "pass"}
              for name, verdict in verdicts.items()]
    return {"study": study, "status": status, "checks": checks, "reason": "", "seed": 3,
            "duration_s": 12.5}


def test_a_failed_check_of_the_bugs_class_is_a_catch_named_by_that_check() -> None:
    cell = classify(FEED, summary("sync", "fail", convergence="pass",
                                  subscribers_saw_every_event="fail", monotonic_reads="fail"))
    assert cell.outcome == CAUGHT
    assert cell.catching_checks == ("subscribers_saw_every_event",)
    assert cell.failed_checks == ("subscribers_saw_every_event", "monotonic_reads")
    assert cell.label == "subscribers_saw_every_event"
    assert cell.expected and cell.seed == 3 and cell.duration_s == 12.5


def test_a_failure_of_another_class_only_is_missed_and_names_what_failed() -> None:
    cell = classify(FEED, summary("conflicts", "fail", no_silently_lost_changes="fail"))
    assert cell.outcome == MISSED
    assert cell.catching_checks == ()
    assert cell.label == "missed: no_silently_lost_changes"
    assert not cell.expected


def test_a_study_where_every_check_passed_missed_the_bug() -> None:
    cell = classify(FEED, summary("sync", "pass", subscribers_saw_every_event="pass"))
    assert (cell.outcome, cell.label) == (MISSED, "missed")


def test_a_crash_or_timeout_is_an_error_never_a_catch() -> None:
    crashed = {"study": "sync", "status": "error", "checks": [],
               "reason": "timeout: a cell ran longer than 600 s", "duration_s": 600.0}
    cell = classify(FEED, crashed)
    assert cell.outcome == ERROR and cell.reason.startswith("timeout")
    assert cell.label == "error"


def test_an_errored_study_is_an_error_even_when_its_checks_say_fail() -> None:
    half = summary("sync", "error", subscribers_saw_every_event="fail")
    assert classify(FEED, half).outcome == ERROR


def test_unknown_verdicts_alone_are_an_error() -> None:
    cell = classify(FEED, summary("sync", "unknown", subscribers_saw_every_event="unknown",
                                  convergence="pass"))
    assert cell.outcome == ERROR
    assert cell.unknown_checks == ("subscribers_saw_every_event",)
    assert cell.label == "error: unknown only"


def test_an_unknown_beside_a_failure_of_another_class_is_missed() -> None:
    cell = classify(FEED, summary("sync", "fail", subscribers_saw_every_event="unknown",
                                  convergence="fail"))
    assert cell.outcome == MISSED


def test_checks_without_a_verdict_field_are_read_from_passed() -> None:
    old = {"study": "sync", "status": "fail",
           "checks": [{"name": "subscribers_saw_every_event", "passed": False}]}
    assert classify(FEED, old).outcome == CAUGHT


def test_the_baseline_cell_takes_the_studys_status() -> None:
    cell = classify(None, summary("sync", "fail", convergence="fail"))
    assert (cell.bug, cell.outcome, cell.label) == (NO_BUG, "fail", "fail: convergence")
    assert cell.baseline


def test_a_bug_is_caught_when_any_of_its_studies_caught_it() -> None:
    cells = [classify(CLIENT, summary("sync", "fail", convergence="fail")),
             classify(CLIENT, summary("conflicts", "pass", convergence="pass"))]
    verdict = bug_verdict(CLIENT, cells, planned=2)
    assert (verdict.status, verdict.caught_in, verdict.checks) == (CAUGHT, ("sync",),
                                                                   ("convergence",))
    assert verdict.expected_caught


def test_a_bug_whose_studies_all_errored_is_an_error_and_one_not_finished_is_incomplete() -> None:
    errored = [classify(CLIENT, {"study": s, "status": "error", "checks": [], "reason": "x"})
               for s in ("sync", "conflicts")]
    assert bug_verdict(CLIENT, errored, planned=2).status == ERROR
    assert bug_verdict(CLIENT, errored[:1], planned=2).status == INCOMPLETE
    missed = [errored[0], classify(CLIENT, summary("conflicts", "pass", convergence="pass"))]
    assert bug_verdict(CLIENT, missed, planned=2).status == MISSED


def test_detection_rates_overall_per_component_area_and_study() -> None:
    cells = [classify(FEED, summary("sync", "fail", change_feed="fail")),
             classify(CLIENT, summary("sync", "pass", convergence="pass")),
             classify(CLIENT, summary("conflicts", "pass", convergence="pass"))]
    verdicts = [bug_verdict(FEED, cells[:1], 1), bug_verdict(CLIENT, cells[1:], 2)]
    rates = detection(verdicts, cells)
    assert rates["overall"] == {"caught": 1, "run": 2, "rate": 0.5}
    assert rates["by_component"] == {"server": {"caught": 1, "run": 1, "rate": 1.0},
                                     "client": {"caught": 0, "run": 1, "rate": 0.0}}
    assert rates["by_area"]["cursors and pruning"]["rate"] == 0.0
    assert rates["by_study"]["sync"] == {"caught": 1, "run": 2, "rate": 0.5}
    assert rates["expected_studies"] == {"caught": 1, "run": 2}


def test_the_verdict_and_exit_code() -> None:
    clean = [classify(None, summary("sync", "pass", convergence="pass"))]
    caught = [classify(FEED, summary("sync", "fail", change_feed="fail"))]
    missed = [classify(FEED, summary("sync", "pass", change_feed="pass"))]
    every = [bug_verdict(FEED, caught, 1)]

    verdict = zoo_verdict(every, clean + caught)
    assert (verdict.status, verdict.exit_code) == (ALL_CAUGHT, 0)
    assert verdict.text == "1 of 1 bugs caught (100% of those finished)"

    verdict = zoo_verdict([bug_verdict(FEED, missed, 1)], clean + missed)
    assert (verdict.status, verdict.exit_code) == (NOT_ALL_CAUGHT, 1)
    assert "missed: skip_event" in verdict.text

    dirty = [classify(None, summary("sync", "fail", convergence="fail"))]
    verdict = zoo_verdict(every, dirty + caught)
    assert (verdict.status, verdict.exit_code) == (DOUBTFUL, 1)
    assert "baseline without a bug did not pass in sync (fail: convergence)" in verdict.text

    verdict = zoo_verdict([bug_verdict(FEED, [], 1)], clean, interrupted=True)
    assert (verdict.status, verdict.exit_code) == (INTERRUPTED, 130)
    assert "not finished: skip_event" in verdict.text
