"""change_feed: a correct feed passes, each anomaly fails with the rows that show it."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from syncbench.checks import change_feed


def log(last: int, repository: str = "r") -> pd.DataFrame:
    return pd.DataFrame([{"repository": repository, "seq": seq, "task_id": f"t{seq}",
                          "version": 1, "type": "task_created", "origin": "w",
                          "timestamp": float(seq)} for seq in range(1, last + 1)])


class Feed:
    """One subscriber's recorded subscriptions and deliveries, built in time order."""

    def __init__(self, subscriber: str = "s1", repository: str = "r") -> None:
        self.subscriber, self.repository = subscriber, repository
        self.clock = 0.0
        self.subscriptions: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []

    def tick(self) -> float:
        self.clock += 1.0
        return self.clock

    def act(self, action: str, connection: int, after: int = 0) -> Feed:
        self.subscriptions.append({"subscriber": self.subscriber, "connection": connection,
                                   "repository": self.repository, "action": action,
                                   "after": after, "time": self.tick()})
        return self

    def get(self, connection: int, *seqs: int, task: str | None = None) -> Feed:
        for seq in seqs:
            self.deliveries.append({"subscriber": self.subscriber, "connection": connection,
                                    "repository": self.repository, "seq": seq,
                                    "task_id": task or f"t{seq}", "version": 1,
                                    "type": "task_created", "replay": False,
                                    "received_time": self.tick()})
        return self

    def check(self, last: int) -> Any:
        return change_feed(pd.DataFrame(self.deliveries), pd.DataFrame(self.subscriptions),
                           log(last))


def anomalies(result: Any) -> list[tuple[str, int | None]]:
    return [(entry["anomaly"], entry.get("seq")) for entry in result.counterexample]


def seqs_of(entry: dict[str, Any]) -> list[Any]:
    return [row.get("seq", row.get("action")) for row in entry["rows"]]


def test_an_in_order_feed_passes() -> None:
    result = Feed().act("subscribe", 1).get(1, 1, 2, 3, 4, 5).check(5)
    assert result.verdict == "pass", result.message
    assert result.observed.startswith("0 lost, 0 never_seen, 0 gap")


def test_resumes_at_or_behind_the_last_seen_seq_pass() -> None:
    feed = (Feed().act("subscribe", 1).get(1, 1, 2, 3)
            .act("resume", 2, after=3).get(2, 4)
            .act("resume", 3, after=2).get(3, 3, 4, 5))   # behind: at-least-once redelivery
    assert feed.check(5).verdict == "pass"


def test_an_unsubscribe_ends_what_is_due() -> None:
    feed = Feed().act("subscribe", 1).get(1, 1, 2, 3).act("unsubscribe", 1)
    assert feed.check(9).verdict == "pass"


def test_a_skipped_event_never_received_is_lost_and_an_unfilled_gap() -> None:
    result = Feed().act("subscribe", 1).get(1, 1, 2, 4, 5).check(5)
    assert result.verdict == "fail"
    assert anomalies(result) == [("lost", 3), ("gap", 3)]
    lost, gap = result.counterexample
    assert seqs_of(lost) == ["subscribe", 3, 5]     # position 0, the log's event, a later one
    assert seqs_of(gap) == ["subscribe", 4]
    assert gap["filled"] is False
    assert result.observed.startswith("1 lost, 0 never_seen, 1 gap")


def test_a_resume_past_what_was_received_loses_the_events_between() -> None:
    result = (Feed().act("subscribe", 1).get(1, 1, 2)
              .act("resume", 2, after=3).get(2, 4, 5).check(5))
    assert anomalies(result) == [("lost", 3)]
    assert seqs_of(result.counterexample[0]) == ["subscribe", 3, 5, "resume"]


def test_events_missing_at_the_final_drain_are_never_seen() -> None:
    result = Feed().act("subscribe", 1).get(1, 1, 2, 3).check(5)
    assert anomalies(result) == [("never_seen", 4), ("never_seen", 5)]


def test_a_late_event_is_a_filled_gap_and_out_of_order() -> None:
    result = Feed().act("subscribe", 1).get(1, 1, 3, 2, 4).check(4)
    assert anomalies(result) == [("gap", 2), ("out_of_order", None)]
    gap, disorder = result.counterexample
    assert gap["filled"] is True and seqs_of(gap) == ["subscribe", 3, 2]
    assert seqs_of(disorder) == [3, 2]


def test_a_gap_filled_after_a_resume_is_reported_as_filled() -> None:
    result = (Feed().act("subscribe", 1).get(1, 1, 3)
              .act("resume", 2, after=1).get(2, 2, 3).check(3))
    assert anomalies(result) == [("gap", 2)]
    assert result.counterexample[0]["filled"] is True


def test_the_same_seq_twice_on_one_connection_is_duplicated() -> None:
    result = Feed().act("subscribe", 1).get(1, 1, 2, 2, 3).check(3)
    assert anomalies(result) == [("duplicated", None)]
    assert seqs_of(result.counterexample[0]) == [2, 2]


def test_a_seq_delivered_again_after_a_resume_past_it_is_duplicated() -> None:
    result = (Feed().act("subscribe", 1).get(1, 1, 2, 3)
              .act("resume", 2, after=3).get(2, 3, 4).check(4))
    assert anomalies(result) == [("duplicated", None)]
    assert seqs_of(result.counterexample[0]) == ["resume", 3, 3]


def test_a_delivery_the_log_contradicts_is_unexpected() -> None:
    result = Feed().act("subscribe", 1).get(1, 1).get(1, 2, task="t9").check(2)
    assert anomalies(result) == [("unexpected", None)]
    stranger = Feed().act("subscribe", 1).get(1, 1).get(7, 2).check(2)
    assert ("unexpected", None) in anomalies(stranger)


def test_anomalies_are_kept_per_subscriber_and_repository() -> None:
    good, bad = Feed("s1").act("subscribe", 1).get(1, 1, 2), Feed("s2").act("subscribe", 1)
    bad.get(1, 2)
    result = change_feed(pd.DataFrame(good.deliveries + bad.deliveries),
                         pd.DataFrame(good.subscriptions + bad.subscriptions), log(2))
    assert [(e["subscriber"], e["anomaly"]) for e in result.counterexample] == [("s2", "lost"),
                                                                               ("s2", "gap")]


def test_the_feed_is_unknown_without_subscriptions_or_due_events() -> None:
    empty = pd.DataFrame(columns=["subscriber", "connection", "repository", "action", "after",
                                  "time"])
    assert change_feed(pd.DataFrame(), empty, log(3)).verdict == "unknown"
    assert Feed().act("subscribe", 1, after=3).check(3).verdict == "unknown"


def resuming_feed(seed: int, last: int) -> Feed:
    """A correct feed: every resume is at or behind what was received, then in order."""
    rng = random.Random(seed)
    feed, received, connection = Feed(), 0, 1
    feed.act("subscribe", connection)
    position = 0
    while received < last:
        upto = rng.randint(received, last)
        feed.get(connection, *range(position + 1, upto + 1))
        received = max(received, upto)
        connection += 1
        position = rng.randint(0, received)
        feed.act("resume", connection, after=position)
    feed.get(connection, *range(position + 1, last + 1))
    return feed


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 30))
def test_an_in_order_feed_with_random_resumes_passes(seed: int, last: int) -> None:
    result = resuming_feed(seed, last).check(last)
    assert result.verdict == "pass", result.message


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 30), st.data())
def test_dropping_any_event_delivered_once_fails_as_lost_or_never_seen(
        seed: int, last: int, data: st.DataObject) -> None:
    feed = resuming_feed(seed, last)
    counts: dict[int, int] = {}
    for delivery in feed.deliveries:
        counts[delivery["seq"]] = counts.get(delivery["seq"], 0) + 1
    once = [i for i, d in enumerate(feed.deliveries) if counts[d["seq"]] == 1]
    if not once:
        return
    dropped = feed.deliveries.pop(data.draw(st.sampled_from(once)))
    result = feed.check(last)
    assert result.verdict == "fail"
    assert {(a, s) for a, s in anomalies(result)} & {("lost", dropped["seq"]),
                                                     ("never_seen", dropped["seq"])}


def pruned_log(earliest: int, last: int) -> pd.DataFrame:
    return log(last)[lambda frame: frame["seq"] >= earliest]


def test_a_replay_that_skips_pruned_events_without_resync_required_is_a_gap() -> None:
    feed = Feed().act("subscribe", 1, after=0).get(1, 8, 9, 10)
    result = change_feed(pd.DataFrame(feed.deliveries), pd.DataFrame(feed.subscriptions),
                         pruned_log(8, 10))
    assert result.verdict == "fail"
    (entry,) = [e for e in result.counterexample if e["anomaly"] == "gap"]
    assert entry["pruned"] and "1..7 skipped" in entry["why"]


def test_resync_required_for_a_pruned_position_then_following_from_the_end_passes() -> None:
    feed = (Feed().act("subscribe", 1, after=0).act("resync", 1, after=0)
            .act("subscribe", 1, after=10).get(1, 11, 12))
    result = change_feed(pd.DataFrame(feed.deliveries), pd.DataFrame(feed.subscriptions),
                         pruned_log(8, 12))
    assert result.verdict == "pass", result.message
