"""Each check: a history or state that must fail (with exactly the offending ops) and one that passes."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from syncbench.checks import (
    breaker_followed_state_machine,
    conflicts_reported_once,
    convergence,
    expected_winner,
    no_duplicates_from_retries,
    no_lost_acknowledged_writes,
    subscribers_saw_every_event,
)
from syncbench.history import History
from tasksync.models import Conflict, SyncTaskFields, Task


def task(task_id: str, content: str, version: int = 1, **fields: Any) -> Task:
    return Task(id=task_id, repository="r", content=content, version=version, **fields)


def op_ids(result: Any) -> list[int]:
    return [entry["op_id"] for entry in result.counterexample]


# -- convergence ---------------------------------------------------------------------------


def test_convergence_passes_when_all_holders_agree_ignoring_versions() -> None:
    states = {
        "server": {"t1": task("t1", "a", version=4), "t2": task("t2", "b", deleted=True)},
        "replica-1": {
            "t1": ("a", "pending", "medium", False),
            "t2": ("b", "pending", "medium", True),
        },
        "replica-2": {
            "t1": {
                "content": "a",
                "status": "pending",
                "priority": "medium",
                "deleted": False,
                "version": 3,
            },
            "t2": {"content": "b", "status": "pending", "priority": "medium", "deleted": True},
        },
    }
    result = convergence(states)
    assert result.passed, result.message
    assert result.observed == "0 of 2 tasks differ across 3 holders"
    assert result.counterexample == []


def test_convergence_names_only_the_differing_tasks_and_each_holders_value() -> None:
    states = {
        "server": {
            "t1": ("a", "pending", "medium", False),
            "t2": ("b", "completed", "low", False),
            "t3": ("c", "pending", "medium", True),
        },
        "replica-1": {
            "t1": ("a", "pending", "medium", False),
            "t2": ("b", "pending", "low", False),
            "t3": ("c", "pending", "medium", True),
        },
        "replica-2": {
            "t1": ("a", "pending", "medium", False),
            "t2": ("b", "completed", "low", False),
        },
    }
    result = convergence(states)
    assert not result.passed
    assert [entry["task_id"] for entry in result.counterexample] == ["t2", "t3"]
    t2, t3 = result.counterexample
    assert t2["values"]["server"]["status"] == "completed"
    assert t2["values"]["replica-1"]["status"] == "pending"
    assert t3["values"]["replica-2"] is None
    assert result.observed == "2 of 3 tasks differ across 3 holders"


def test_convergence_can_compare_versions() -> None:
    states = {"server": {"t1": task("t1", "a", version=2)}, "replica": {"t1": task("t1", "a")}}
    assert convergence(states).passed
    assert not convergence(states, compare_versions=True).passed


@given(st.permutations(["server", "replica-1", "replica-2", "replica-3"]))
def test_convergence_verdict_does_not_depend_on_holder_order(order: list[str]) -> None:
    base = {"t1": ("a", "pending", "medium", False)}
    odd = {"t1": ("a", "completed", "medium", False)}
    states = {name: (odd if name == "replica-2" else base) for name in order}
    result = convergence(states)
    assert not result.passed
    assert [entry["task_id"] for entry in result.counterexample] == ["t1"]


# -- no_lost_acknowledged_writes -----------------------------------------------------------


def write_history() -> History:
    history = History()
    history.invoke("c1", "create", task_id="t1", content="a").ok(version=1)  # 1
    history.invoke("c1", "update", task_id="t1", content="b").ok(version=2)  # 2
    history.invoke("c2", "create", task_id="t2", content="c").ok(version=1)  # 3
    history.invoke("c2", "update", task_id="t2", content="d").info("ReadTimeout")  # 4
    history.invoke("c2", "create", task_id="t3", content="e").fail("refused")  # 5
    history.invoke("c3", "create", content="f").ok(task_id="srv-1", version=1)  # 6
    history.invoke("c3", "delete", task_id="t2").ok(version=2)  # 7
    history.invoke("c3", "get", task_id="t1").ok(version=2)  # 8
    return history


def test_no_lost_writes_passes_when_every_ok_write_is_reflected() -> None:
    final = [
        task("t1", "b", version=2),
        task("t2", "c", version=2, deleted=True),
        task("srv-1", "f", version=5),
    ]
    result = no_lost_acknowledged_writes(write_history(), final)
    assert result.passed, result.message
    assert result.observed == "0 lost of 5 acknowledged"


def test_no_lost_writes_names_exactly_the_lost_acknowledged_writes() -> None:
    # t1 rolled back to version 1 (op 2 lost); srv-1 vanished (op 6 lost). Op 4 (info) and
    # op 5 (fail) prove nothing; op 8 is a read.
    final = {"t1": task("t1", "a", version=1), "t2": task("t2", "c", version=2, deleted=True)}
    result = no_lost_acknowledged_writes(write_history(), final)
    assert not result.passed
    assert op_ids(result) == [2, 6]
    assert result.counterexample[0]["final"] == {"version": 1, "deleted": False}
    assert result.counterexample[1]["final"] is None
    assert result.observed == "2 lost of 5 acknowledged"


def test_no_lost_writes_accepts_a_frame_of_a_reloaded_history() -> None:
    final = {
        "t1": task("t1", "a", version=1),
        "t2": task("t2", "c", version=2),
        "srv-1": task("srv-1", "f"),
    }
    result = no_lost_acknowledged_writes(write_history().to_frame(), final)
    assert op_ids(result) == [2]


# -- no_duplicates_from_retries ------------------------------------------------------------


def create_history() -> History:
    history = History()
    history.invoke("c1", "create", key="k1", content="k1").info("ReadTimeout")  # 1
    history.invoke("c1", "create", key="k1", content="k1").ok(task_id="u2")  # 2: retry
    history.invoke("c2", "create", key="k2", content="k2").info("reset")  # 3
    history.invoke("c2", "create", key="k3", content="k3").ok(task_id="u4")  # 4
    history.invoke("c2", "update", task_id="u4", content="k1").ok(version=2)  # 5
    return history


def test_no_duplicates_passes_when_info_creates_appear_at_most_once() -> None:
    # k1: info then ok, one task; k2: info, absent; k3: ok, one task.
    final = [task("u2", "k1"), task("u4", "k3")]
    result = no_duplicates_from_retries(create_history(), final)
    assert result.passed, result.message


def test_no_duplicates_names_the_creates_of_the_duplicated_key() -> None:
    final = [
        task("u1", "k1"),
        task("u2", "k1"),
        task("u4", "k3"),
        task("u9", "k9"),
        task("u10", "k9", deleted=True),
    ]
    result = no_duplicates_from_retries(create_history(), final)
    assert not result.passed
    by_key = [
        (entry["key"], entry.get("op_id"), entry["task_ids"]) for entry in result.counterexample
    ]
    assert by_key == [("k1", 1, ["u1", "u2"]), ("k1", 2, ["u1", "u2"]), ("k9", None, ["u10", "u9"])]
    assert result.observed.startswith("2 duplicated keys (2 extra tasks)")


def test_no_duplicates_uses_a_given_task_key() -> None:
    final = [
        {"id": "u1", "content": "x", "label": "k2"},
        {"id": "u2", "content": "y", "label": "k2"},
    ]
    result = no_duplicates_from_retries(create_history(), final, task_key=lambda t: t.get("label"))
    assert op_ids(result) == [3]


# -- subscribers_saw_every_event -----------------------------------------------------------

LOG = {"r1": [1, 2, 3, 4, 5], "r2": [1, 2]}


def test_subscribers_pass_with_duplicates_and_a_late_subscribe_point() -> None:
    deliveries = pd.DataFrame(
        [
            ("s1", "r1", 1, 0.1),
            ("s1", "r1", 2, 0.2),
            ("s1", "r1", 2, 0.3),
            ("s1", "r1", 3, 0.4),
            ("s1", "r1", 4, 0.5),
            ("s1", "r1", 5, 0.6),
            ("s1", "r2", 1, 0.1),
            ("s1", "r2", 2, 0.2),
            ("s2", "r1", 3, 0.1),
            ("s2", "r1", 4, 0.2),
            ("s2", "r1", 5, 0.3),
        ],
        columns=["subscriber", "repository", "seq", "received_time"],
    )
    subscriptions = {"s1": {"r1": 0, "r2": 0}, "s2": {"r1": 2}}
    result = subscribers_saw_every_event(deliveries, LOG, subscriptions=subscriptions)
    assert result.passed, result.message


def test_subscribers_report_missing_out_of_order_and_unknown_per_subscriber() -> None:
    deliveries = [
        ("s1", "r1", 1, 0.1),
        ("s1", "r1", 3, 0.2),
        ("s1", "r1", 2, 0.3),
        ("s1", "r1", 4, 0.4),
        ("s1", "r1", 5, 0.5),
        ("s2", "r1", 1, 0.1),
        ("s2", "r1", 2, 0.2),
        ("s2", "r1", 4, 0.3),
        ("s2", "r1", 5, 0.4),
        ("s2", "r1", 9, 0.5),
    ]
    subscriptions = {"s1": {"r1": 0}, "s2": {"r1": 0, "r2": 0}}
    result = subscribers_saw_every_event(deliveries, LOG, subscriptions=subscriptions)
    assert not result.passed
    assert [
        (e["subscriber"], e["repository"], e["missing"], e["out_of_order"], e["unknown"])
        for e in result.counterexample
    ] == [
        ("s1", "r1", [], [[3, 2]], []),
        ("s2", "r1", [3], [], [9]),
        ("s2", "r2", [1, 2], [], []),
    ]


def test_subscribers_order_rows_by_received_time() -> None:
    deliveries = [
        {"subscriber": "s1", "repository": "r2", "seq": 2, "received_time": 2.0},
        {"subscriber": "s1", "repository": "r2", "seq": 1, "received_time": 1.0},
    ]
    assert subscribers_saw_every_event(deliveries, {"r2": [1, 2]}).passed


@given(st.permutations(list(range(1, 9))))
def test_subscribers_fail_exactly_when_a_shuffled_order_descends(order: list[int]) -> None:
    deliveries = [("s1", "r1", seq, float(i)) for i, seq in enumerate(order)]
    result = subscribers_saw_every_event(deliveries, {"r1": list(range(1, 9))})
    descents = [[a, b] for a, b in zip(order, order[1:], strict=False) if b < a]
    assert result.passed == (order == sorted(order))
    assert result.counterexample == (
        []
        if not descents
        else [
            {
                "subscriber": "s1",
                "repository": "r1",
                "after": 0,
                "missing": [],
                "out_of_order": descents,
                "unknown": [],
            }
        ]
    )


@given(st.lists(st.integers(min_value=1, max_value=10), min_size=1, max_size=40))
def test_subscribers_pass_with_any_redelivery_of_already_seen_events(extra: list[int]) -> None:
    # At-least-once: after each event, resend any event already delivered.
    rows: list[tuple[str, str, int]] = []
    rng = random.Random(len(extra))
    for seq in range(1, 11):
        rows.append(("s1", "r1", seq))
        rows.extend(("s1", "r1", again) for again in extra if again <= seq and rng.random() < 0.5)
    assert subscribers_saw_every_event(rows, {"r1": list(range(1, 11))}).passed


# -- conflicts_reported_once ---------------------------------------------------------------


def conflict(
    conflict_id: int,
    strategy: str,
    winner: str,
    *,
    change_id: str | None = None,
    client_at: str = "2026-01-01T00:00:01.000000Z",
    server_at: str = "2026-01-01T00:00:02.000000Z",
    server: Task | None = None,
    base: SyncTaskFields | None = None,
) -> Conflict:
    server_task = (
        server
        if server is not None
        else Task(
            id=f"t{conflict_id}", repository="r", content="server", version=3, updated_at=server_at
        )
    )
    return Conflict(
        conflict_id=conflict_id,
        task_id=f"t{conflict_id}",
        repository="r",
        change_id=change_id or f"c1:{conflict_id}",
        strategy=strategy,
        winner=winner,
        base_version=1,
        server=server_task,
        client=SyncTaskFields(content="client"),
        client_updated_at=client_at,
        resolved=None,
        base=base,
    )


def good_conflicts() -> list[Conflict]:
    return [
        conflict(1, "server_wins", "server"),
        conflict(2, "client_wins", "client"),
        conflict(3, "merge", "merged"),
        conflict(4, "manual", "none"),
        conflict(5, "last_write_wins", "server"),  # client clock earlier
        conflict(6, "last_write_wins", "client", client_at="2026-01-01T00:00:03.000000Z"),
        conflict(7, "last_write_wins", "server", client_at="2026-01-01T00:00:02.000000Z"),  # tie
    ]


def test_conflicts_pass_when_each_is_reported_once_whole_with_the_right_winner() -> None:
    result = conflicts_reported_once(good_conflicts(), server_log=good_conflicts())
    assert result.passed, result.message
    assert result.observed == "0 bad of 7 conflicts (7 reports)"


def test_conflicts_name_exactly_the_bad_ones() -> None:
    logged = good_conflicts() + [
        conflict(8, "client_wins", "server"),  # wrong winner
        conflict(9, "last_write_wins", "client"),  # client clock earlier
        conflict(10, "server_wins", "server", change_id="c1:1"),  # change 1 again
        conflict(11, "server_wins", "server"),  # never reported
    ]
    reported = logged[:10] + [
        conflict(2, "client_wins", "client"),  # reported twice
        conflict(12, "server_wins", "server"),
    ]  # not in the log
    result = conflicts_reported_once(reported, server_log=logged)
    assert not result.passed
    assert [(e.get("conflict_id"), e["violation"]) for e in result.counterexample] == [
        (2, "reported 2 times"),
        (8, "winner 'server' under client_wins, expected client"),
        (9, "winner 'client' under last_write_wins, expected server"),
        (11, "logged by the server but never reported"),
        (12, "reported but absent from the server's conflict log"),
        (None, "change c1:1 reported as 2 conflicts"),
    ]
    assert result.counterexample[-1]["conflict_ids"] == [1, 10]


def test_conflicts_require_both_sides() -> None:
    lost_side = {
        "conflict_id": 1,
        "change_id": "c1:1",
        "strategy": "server_wins",
        "winner": "server",
        "server": None,
        "client": {"content": "x"},
    }
    result = conflicts_reported_once([lost_side])
    assert [e["violation"] for e in result.counterexample] == ["server side not kept"]


def test_conflicts_unreported_log_entries_allowed_when_responses_can_be_lost() -> None:
    logged = good_conflicts()
    result = conflicts_reported_once(
        logged[:3], server_log=logged, require_every_logged_reported=False
    )
    assert result.passed, result.message


def test_a_merge_that_had_a_base_must_be_merged() -> None:
    base = SyncTaskFields(content="base")
    assert expected_winner(conflict(1, "merge", "x", base=base)) == {"merged"}
    assert expected_winner(conflict(1, "merge", "x")) == {"merged", "server"}
    result = conflicts_reported_once([conflict(1, "merge", "server", base=base),
                                      conflict(2, "merge", "server"),
                                      conflict(3, "merge", "merged", base=base)])
    assert [(e.get("conflict_id"), e["violation"]) for e in result.counterexample] == [
        (1, "winner 'server' under merge, expected merged")]


def test_expected_winner_follows_the_later_clock_with_ties_to_the_server() -> None:
    assert expected_winner(
        conflict(1, "last_write_wins", "x", client_at="2026-01-01T00:00:02.000001Z")
    ) == {"client"}
    assert expected_winner(conflict(1, "last_write_wins", "x", client_at="garbage")) == {"server"}
    assert expected_winner(conflict(1, "bogus", "x")) == frozenset()


# -- breaker_followed_state_machine --------------------------------------------------------


def test_breaker_passes_a_full_cycle_with_server_style_timestamps() -> None:
    transitions = [
        {"from": "closed", "to": "open", "at": "2026-01-01T00:00:00.000000Z"},
        {"from": "open", "to": "half_open", "at": "2026-01-01T00:00:05.000000Z"},
        {"from": "half_open", "to": "open", "at": "2026-01-01T00:00:05.100000Z"},
        {"from": "open", "to": "half_open", "at": "2026-01-01T00:00:10.100000Z"},
        {"from": "half_open", "to": "closed", "at": "2026-01-01T00:00:10.200000Z"},
    ]
    result = breaker_followed_state_machine(transitions)
    assert result.passed, result.message
    assert breaker_followed_state_machine([]).passed


def test_breaker_names_each_bad_transition_and_its_predecessor_when_the_pair_is_at_fault() -> None:
    transitions = [
        {"from": "closed", "to": "open", "at": 1.0},
        {"from": "open", "to": "closed", "at": 2.0},  # 1: skips half_open
        {"from": "closed", "to": "open", "at": 3.0},
        {"from": "half_open", "to": "closed", "at": 4.0},  # 3: breaker was open
        {"from": "closed", "to": "open", "at": 3.5},  # 4: time went back
    ]
    result = breaker_followed_state_machine(transitions)
    assert not result.passed
    assert [(e["index"], "previous" in e) for e in result.counterexample] == [
        (1, False),
        (3, True),
        (4, True),
    ]
    assert result.counterexample[1]["previous"] == {"from": "closed", "to": "open", "at": 3.0}
    assert "before the previous" in result.counterexample[2]["violation"]


def test_breaker_must_start_closed() -> None:
    result = breaker_followed_state_machine([{"from": "open", "to": "half_open", "at": 1.0}])
    assert [e["index"] for e in result.counterexample] == [0]


@given(st.lists(st.booleans(), max_size=30))
def test_breaker_accepts_any_walk_along_allowed_edges(probes_fail: list[bool]) -> None:
    transitions, at = [], 0.0
    for fails in probes_fail:
        for edge in (("closed", "open"), ("open", "half_open")):
            if transitions and transitions[-1]["to"] != edge[0]:
                continue
            at += 1
            transitions.append({"from": edge[0], "to": edge[1], "at": at})
        at += 1
        transitions.append({"from": "half_open", "to": "open" if fails else "closed", "at": at})
    assert breaker_followed_state_machine(transitions).passed
