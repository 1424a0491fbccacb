"""session_guarantees: correct histories pass, each broken guarantee fails with its two rows."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from syncbench.checks import GUARANTEES, session_guarantees


def row(op_id: int, client: str, kind: str, task: str, version: int, start: float,
        end: float | None = None, *, content: str | None = None, deleted: bool = False,
        seq: int | None = None, listing: bool = False, repository: str = "r") -> dict[str, Any]:
    return {"op_id": op_id, "client": client, "operation": "op", "kind": kind,
            "repository": repository, "requested_task_id": task if kind == "write" else None,
            "task_id": task, "task_repository": repository, "version": version,
            "deleted": deleted, "content": content if content is not None else f"{task}@{version}",
            "seq": seq, "invoke_time": start, "complete_time": start + 0.5 if end is None else end,
            "listing_complete": listing}


def verdicts(rows: list[dict[str, Any]], **kwargs: Any) -> dict[str, str]:
    return {name: result.verdict
            for name, result in session_guarantees(pd.DataFrame(rows), **kwargs).items()}


def witness_ops(result: Any) -> list[list[int]]:
    return [[r["op_id"] for r in entry["rows"]] for entry in result.counterexample]


def test_a_correct_history_keeps_all_four_guarantees() -> None:
    rows = [
        row(1, "c1", "write", "t1", 1, 0),
        row(2, "c1", "read", "t1", 1, 1),
        row(3, "c1", "write", "t1", 2, 2),
        row(4, "c1", "read", "t1", 2, 3, listing=True),
        row(4, "c1", "read", "t2", 1, 3, listing=True),
        row(5, "c2", "read", "t1", 2, 4),
        row(6, "c2", "write", "t1", 3, 5),
        row(7, "c2", "write", "t2", 1, 0),
        row(8, "c2", "write", "t2", 1, 6),   # an update that changed nothing: same state
    ]
    assert verdicts(rows) == dict.fromkeys(GUARANTEES, "pass")


def test_a_read_older_than_the_clients_own_write_breaks_read_your_writes() -> None:
    rows = [row(1, "c1", "write", "t1", 2, 0), row(2, "c1", "read", "t1", 1, 1)]
    results = session_guarantees(pd.DataFrame(rows))
    ryw = results["read_your_writes"]
    assert ryw.verdict == "fail"
    assert witness_ops(ryw) == [[1, 2]]
    assert "t1 at version 1 after version 2" in ryw.counterexample[0]["why"]
    assert results["monotonic_reads"].verdict == "unknown"


def test_a_resent_writes_stored_reply_older_than_what_came_since_is_not_a_violation() -> None:
    # c1's update made version 2, its reply was lost (no row); c1 then read version 2, a
    # batch made version 4; the update re-sent with its key gets the stored reply: version 2
    rows = [row(1, "c1", "write", "t1", 1, 0), row(2, "c1", "read", "t1", 2, 1),
            row(3, "c1", "write", "t1", 4, 2), row(4, "c1", "write", "t1", 2, 3)]
    rows[3]["operation"] = "retry_update"
    assert verdicts(rows) == {**dict.fromkeys(GUARANTEES, "pass"),
                              "monotonic_reads": "unknown"}  # one read: nothing to compare
    # a state the client never saw at that version is no stored reply: still a violation
    rows[3]["content"] = "another state"
    assert verdicts(rows)["monotonic_writes"] == "fail"
    # nor is an older version excused for a write that was not re-sent
    rows[3]["operation"], rows[3]["content"] = "update", "t1@2"
    assert verdicts(rows)["monotonic_writes"] == "fail"


def test_the_stored_reply_to_a_resent_write_is_not_read_as_a_fresh_read() -> None:
    # the first send got 412 with `current` at version 1; its re-send with the same key gets
    # that stored reply again, after the client's own write of version 2
    first, resent = row(2, "c1", "read", "t1", 1, 2), row(3, "c1", "read", "t1", 1, 3)
    resent["operation"] = "retry_update"
    rows = [row(1, "c1", "write", "t1", 2, 0), resent]
    assert session_guarantees(pd.DataFrame(rows))["read_your_writes"].verdict == "unknown"
    first["operation"] = "update"   # the same stale state read afresh is a violation
    rows = [row(1, "c1", "write", "t1", 2, 0), first]
    assert session_guarantees(pd.DataFrame(rows))["read_your_writes"].verdict == "fail"


def test_a_read_that_overlaps_the_write_need_not_show_it() -> None:
    # invoked before the write completed: not a later op, so nothing to check
    rows = [row(1, "c1", "write", "t1", 2, 0, 1.0), row(2, "c1", "read", "t1", 1, 0.9)]
    assert verdicts(rows)["read_your_writes"] == "unknown"


def test_a_complete_listing_missing_the_clients_task_breaks_read_your_writes() -> None:
    rows = [row(1, "c1", "write", "t1", 1, 0), row(2, "c1", "read", "t2", 4, 1, listing=True)]
    ryw = session_guarantees(pd.DataFrame(rows))["read_your_writes"]
    assert ryw.verdict == "fail"
    assert witness_ops(ryw) == [[1, 2]]
    assert ryw.counterexample[0]["rows"][1]["tasks_listed"] == 1
    assert "missing from the complete listing of r" in ryw.counterexample[0]["why"]


def test_a_known_delete_or_a_partial_listing_excuses_an_absence() -> None:
    write, listing = row(1, "c1", "write", "t1", 1, 0), row(3, "c1", "read", "t2", 4, 2,
                                                                listing=True)
    deleted = row(2, "c2", "write", "t1", 2, 0.6, deleted=True)
    assert verdicts([write, deleted, listing])["read_your_writes"] == "pass"
    # a delete whose reply was lost shows only in the change log
    log = pd.DataFrame([{"repository": "r", "seq": 2, "task_id": "t1", "version": 2,
                         "type": "task_deleted"}])
    assert verdicts([write, listing], change_log=log)["read_your_writes"] == "pass"
    partial = {**listing, "listing_complete": False}
    assert verdicts([write, partial])["read_your_writes"] == "unknown"


def test_a_delete_known_only_from_tombstones_excuses_an_absence() -> None:
    # the short log was pruned; a subscriber saw the delete, or the server ends with a tombstone
    write, listing = row(1, "c1", "write", "t1", 1, 0), row(3, "c1", "read", "t2", 4, 2,
                                                                listing=True)
    delivered = pd.DataFrame([{"subscriber": "s0", "repository": "r", "seq": 9,
                               "task_id": "t1", "version": 2, "type": "task_deleted"}])
    final = pd.DataFrame([{"holder": "server", "repository": "r", "task_id": "t1",
                           "version": 3, "deleted": True}])
    assert verdicts([write, listing])["read_your_writes"] == "fail"
    for tombstones in (delivered, final):
        assert verdicts([write, listing], tombstones=tombstones)["read_your_writes"] == "pass"
    # a tombstone at the version written, not after it, excuses nothing
    alive = final.assign(version=1, deleted=False)
    assert verdicts([write, listing], tombstones=alive)["read_your_writes"] == "fail"


def test_a_read_older_than_an_earlier_read_or_event_breaks_monotonic_reads() -> None:
    rows = [row(1, "c1", "read", "t1", 3, 0), row(2, "c1", "read", "t1", 2, 1)]
    assert witness_ops(session_guarantees(pd.DataFrame(rows))["monotonic_reads"]) == [[1, 2]]
    event = [row(1, "c1", "read", "t1", 3, 0, seq=7), row(2, "c1", "read", "t1", 2, 1)]
    assert verdicts(event)["monotonic_reads"] == "fail"


def test_change_events_are_history_and_never_checked_as_state() -> None:
    # a change page replays t1's old versions after the client read version 3
    rows = [row(1, "c1", "read", "t1", 3, 0), row(2, "c1", "read", "t1", 1, 1, seq=1),
            row(2, "c1", "read", "t1", 2, 1, seq=2)]
    assert verdicts(rows)["monotonic_reads"] == "unknown"


def test_one_version_with_two_states_breaks_monotonic_reads() -> None:
    rows = [row(1, "c1", "read", "t1", 3, 0, content="a"),
            row(2, "c1", "read", "t1", 3, 1, content="b")]
    result = session_guarantees(pd.DataFrame(rows))["monotonic_reads"]
    assert result.verdict == "fail"
    assert "another state" in result.counterexample[0]["why"]


def test_a_write_ordered_before_the_clients_earlier_write_breaks_monotonic_writes() -> None:
    rows = [row(1, "c1", "write", "t1", 2, 0, content="a"),
            row(2, "c1", "write", "t1", 2, 1, content="b")]
    result = session_guarantees(pd.DataFrame(rows))["monotonic_writes"]
    assert result.verdict == "fail"
    assert witness_ops(result) == [[1, 2]]
    older = [row(1, "c1", "write", "t1", 2, 0), row(2, "c1", "write", "t1", 1, 1)]
    assert verdicts(older)["monotonic_writes"] == "fail"


def test_a_replayed_batch_result_repeats_an_acknowledged_state_and_passes() -> None:
    rows = [row(1, "c1", "write", "t1", 2, 0, content="a"),
            row(2, "c1", "write", "t1", 3, 1, content="b"),
            row(3, "c1", "write", "t1", 2, 2, content="a")]   # re-sent batch: stored result
    assert verdicts(rows)["monotonic_writes"] == "pass"


def test_a_write_ordered_before_what_the_client_read_breaks_writes_follow_reads() -> None:
    rows = [row(1, "c1", "read", "t1", 5, 0), row(2, "c1", "write", "t1", 4, 1)]
    result = session_guarantees(pd.DataFrame(rows))["writes_follow_reads"]
    assert result.verdict == "fail"
    assert witness_ops(result) == [[1, 2]]


def test_each_guarantee_is_unknown_when_the_run_gave_it_nothing_to_check() -> None:
    rows = [row(1, "c1", "write", "t1", 1, 0), row(2, "c2", "read", "t1", 1, 1)]
    assert verdicts(rows) == dict.fromkeys(GUARANTEES, "unknown")
    assert verdicts([]) == dict.fromkeys(GUARANTEES, "unknown")


def linearizable_history(seed: int, steps: int) -> list[dict[str, Any]]:
    """A correct history: each op takes effect at its own instant inside its interval."""
    rng = random.Random(seed)
    state: dict[str, tuple[int, bool]] = {}   # task -> (version, deleted)
    rows: list[dict[str, Any]] = []
    busy_until = {c: -1.0 for c in ("c1", "c2", "c3")}
    for op_id, point in enumerate(range(1, steps + 1), start=1):
        client = rng.choice([c for c in busy_until if busy_until[c] < point] or ["c4"])
        start, end = point - rng.random() * 0.9, point + rng.random() * 3
        busy_until[client] = end
        task = rng.choice(["t1", "t2", "t3"])
        kind = rng.choice(["write", "read", "list"])
        if kind == "write":
            version = state.get(task, (0, False))[0] + 1
            state[task] = (version, rng.random() < 0.2)
            rows.append(row(op_id, client, "write", task, version, start, end,
                            deleted=state[task][1]))
        elif kind == "read" and task in state:
            rows.append(row(op_id, client, "read", task, state[task][0], start, end,
                            deleted=state[task][1]))
        elif kind == "list":
            rows += [row(op_id, client, "read", t, v, start, end, listing=True)
                     for t, (v, gone) in sorted(state.items()) if not gone]
    return rows


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 60))
def test_every_linearizable_history_keeps_the_guarantees(seed: int, steps: int) -> None:
    assert "fail" not in verdicts(linearizable_history(seed, steps)).values()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.data())
def test_an_older_version_in_any_later_read_breaks_read_your_writes(seed: int,
                                                                    data: st.DataObject) -> None:
    rows = linearizable_history(seed, 60)
    writes = [r for r in rows if r["kind"] == "write"]
    later_reads = [(w, r) for r in rows if r["kind"] == "read" and not r["listing_complete"]
                   for w in writes if w["client"] == r["client"] and w["task_id"] == r["task_id"]
                   and w["complete_time"] < r["invoke_time"]]
    if not later_reads:
        return
    write, read = data.draw(st.sampled_from(later_reads))
    read["version"] = write["version"] - 1
    result = session_guarantees(pd.DataFrame(rows))["read_your_writes"]
    assert result.verdict == "fail"
    assert any(entry["rows"][1]["op_id"] == read["op_id"]
               for entry in result.counterexample)


def test_a_batch_items_stored_result_is_not_held_to_what_the_client_saw_since() -> None:
    # the first send of change "7" was applied at version 3, its answer lost (a 500 after the
    # commit); the client then saw version 5; re-sending change "7" gets the stored result
    seen = row(1, "c1", "read", "t1", 5, 0)
    resent = row(2, "c1", "write", "t1", 3, 1, content="t1@3")
    assert verdicts([seen, resent])["writes_follow_reads"] == "fail"
    stored = {**resent, "source": "stored_item"}
    assert verdicts([seen, stored])["writes_follow_reads"] == "unknown"
