"""gates_answer_as_documented: bad input gets its documented answer and writes nothing."""

from __future__ import annotations

from typing import Any

import pandas as pd

from syncbench.checks import gates_answer_as_documented
from syncbench.history import History


def probe(history: History, name: str, status: int, *, writes: bool, key: str,
          why: str | None = None, **answer: Any) -> None:
    history.invoke("c0", "gate", probe=name, content_key=key, writes=writes).ok()
    history.operations[-1].args.update(status=status, as_documented=why is None, why=why,
                                       **answer)


def correct() -> History:
    history = History()
    probe(history, "bad_status", 422, writes=True, key="c0.1", error="validation_error",
          field="$.status")
    probe(history, "metrics", 200, writes=False, key="c0.2")
    history.invoke("c0", "gate", probe="old_client", content_key="c0.3", writes=True).info(
        "connection reset")  # no answer: not held to anything
    return history


FINAL = pd.DataFrame([{"holder": "server", "task_id": "t1", "content": "c0.7 draft"},
                      {"holder": "r0", "task_id": "t2", "content": "c0.1 refused"}])


def test_documented_answers_and_nothing_written_pass() -> None:
    result = gates_answer_as_documented(correct(), FINAL)
    assert result.verdict == "pass", result.message
    assert result.observed == "0 undocumented_answer, 0 refused_write_applied in 2 answered probes"
    assert "bad_status, metrics" in result.message


def test_an_undocumented_answer_fails_naming_the_probe_and_the_difference() -> None:
    history = correct()
    probe(history, "bad_updated_at", 200, writes=True, key="c0.4",
          why="status 200, documented 422")
    result = gates_answer_as_documented(history, FINAL)
    assert result.verdict == "fail"
    [entry] = result.counterexample
    assert entry["anomaly"] == "undocumented_answer" and entry["probe"] == "bad_updated_at"
    assert "status 200, documented 422" in entry["why"]


def test_a_refused_write_whose_key_is_on_the_server_fails() -> None:
    final = pd.concat([FINAL, pd.DataFrame([{"holder": "server", "task_id": "t9",
                                             "content": "c0.1 refused"}])])
    result = gates_answer_as_documented(correct(), final)
    assert result.verdict == "fail"
    assert [e["anomaly"] for e in result.counterexample] == ["refused_write_applied"]
    assert "task t9" in result.counterexample[0]["why"]


def test_no_answered_probe_is_unknown() -> None:
    history = History()
    history.invoke("c0", "gate", probe="health", content_key="c0.1", writes=False).fail("cut")
    assert gates_answer_as_documented(history, FINAL).verdict == "unknown"


def test_a_probe_that_met_a_fault_is_not_held_to_its_documented_answer() -> None:
    history = correct()
    for earlier in history.operations:  # well before the fault
        earlier.invoke_time -= 100
        earlier.complete_time = (earlier.complete_time or earlier.invoke_time + 100) - 100
    probe(history, "ws_bad_message", 0, writes=False, key="c0.5",
          why="the connection did not answer a ping after it")
    at = history.operations[-1].invoke_time
    restart = pd.DataFrame([{"target": "server", "began": pd.Timestamp(at - 0.5, unit="s"),
                             "start": pd.Timestamp(at, unit="s"),
                             "end": pd.Timestamp(at + 1, unit="s")}])
    assert gates_answer_as_documented(history, FINAL).verdict == "fail"
    spared = gates_answer_as_documented(history, FINAL, restart, lambda client: "client-0")
    assert spared.verdict == "pass", spared.message
    elsewhere = restart.assign(target="client-7")  # another group's fault explains nothing
    assert gates_answer_as_documented(history, FINAL, elsewhere,
                                      lambda client: "client-0").verdict == "fail"


def test_a_probe_answered_as_documented_during_a_fault_is_still_judged() -> None:
    # a run whose faults cover it end to end (the crash study's) still learns its gates held
    history = History()
    probe(history, "bad_status", 422, writes=True, key="c0.1", error="validation_error",
          field="$.status")
    at = history.operations[-1].invoke_time
    everywhere = pd.DataFrame([{"target": "server", "began": pd.Timestamp(at - 5, unit="s"),
                                "start": pd.Timestamp(at - 5, unit="s"),
                                "end": pd.Timestamp(at + 5, unit="s")}])
    judged = gates_answer_as_documented(history, FINAL, everywhere, lambda client: "client-0")
    assert judged.verdict == "pass" and "in 1 answered probes" in judged.observed
    final = pd.concat([FINAL, pd.DataFrame([{"holder": "server", "task_id": "t9",
                                             "content": "c0.1 refused"}])])
    caught = gates_answer_as_documented(history, final, everywhere, lambda client: "client-0")
    assert [e["anomaly"] for e in caught.counterexample] == ["refused_write_applied"]
