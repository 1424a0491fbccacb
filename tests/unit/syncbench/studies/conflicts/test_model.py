"""The reference model of a contested batch (PROTOCOL.md's batch rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncbench.studies.conflicts import ModelItem, expected_batch, three_way_merge
from syncbench.studies.conflicts.model import expected_pushes
from tasksync.models import SyncTaskFields

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BASE = SyncTaskFields(content="base")
A = SyncTaskFields(content="A")
B = SyncTaskFields(content="B")


def item(fields: SyncTaskFields, base: SyncTaskFields | None = BASE, at: datetime = T0) -> ModelItem:
    return ModelItem(fields, base, at)


@pytest.mark.parametrize(("strategy", "final", "winner"), [
    ("server_wins", A, "server"),
    ("client_wins", B, "client"),
    ("merge", A, "merged"),  # both changed content: the server's value, listed as contested
    ("manual", A, "none"),
])
def test_edit_edit_same_field_resolves_by_strategy(strategy: str, final, winner: str) -> None:
    expectation = expected_batch(strategy, A, T0, [item(B)], T0)
    assert expectation.final == final
    assert expectation.winners == (winner,)


def test_last_write_wins_follows_the_clocks_ties_to_the_server() -> None:
    later, earlier = T0 + timedelta(seconds=1), T0 - timedelta(seconds=1)
    assert expected_batch("last_write_wins", A, T0, [item(B, at=later)], T0).final == B
    assert expected_batch("last_write_wins", A, T0, [item(B, at=earlier)], T0).final == A
    assert expected_batch("last_write_wins", A, T0, [item(B, at=T0)], T0).winners == ("server",)


def test_merge_takes_each_side_field_changed_alone() -> None:
    server = SyncTaskFields(content="A")
    client = SyncTaskFields(content="base", priority="high")
    expectation = expected_batch("merge", server, T0, [item(client)], T0)
    assert expectation.final == SyncTaskFields(content="A", priority="high")
    assert expectation.winners == ("merged",)


def test_merge_without_a_base_keeps_the_server() -> None:
    assert expected_batch("merge", A, T0, [item(B, base=None)], T0).winners == ("server",)


def test_equal_fields_and_new_tasks_are_not_conflicts() -> None:
    deleted = SyncTaskFields(content="base", deleted=True)
    assert expected_batch("server_wins", deleted, T0, [item(deleted)], T0).conflicts == 0
    created = expected_batch("server_wins", None, None, [item(B, base=None)], T0)
    assert created.final == B and created.conflicts == 0


def test_queued_changes_after_the_clients_own_write_build_on_it() -> None:
    first = SyncTaskFields(content="base", status="in_progress")
    items = [item(first), item(SyncTaskFields(content="base", status="completed"), base=first)]
    expectation = expected_batch("client_wins", A, T0, items, T0)
    assert expectation.winners == ("client",), "only the first change meets another writer"
    assert expectation.final == items[-1].fields


def test_a_queued_change_is_replayed_onto_the_merge_of_the_first() -> None:
    first = SyncTaskFields(content="base", status="in_progress")
    items = [item(first), item(SyncTaskFields(content="base", status="completed"), base=first)]
    expectation = expected_batch("merge", A, T0, items, T0)
    assert expectation.winners == ("merged",)
    assert expectation.final == SyncTaskFields(content="A", status="completed")


def test_three_way_merge_field_by_field() -> None:
    base = SyncTaskFields(content="x", status="pending", priority="medium")
    server = SyncTaskFields(content="s", status="pending", priority="low")
    client = SyncTaskFields(content="c", status="completed", priority="medium")
    assert three_way_merge(base, server, client) == SyncTaskFields(
        content="s", status="completed", priority="low")


def test_an_item_on_the_current_version_applies_without_a_conflict() -> None:
    fresh = ModelItem(B, A, T0, base_version=2)
    expectation = expected_batch("server_wins", A, T0, [fresh], T0, server_version=2)
    assert expectation.final == B and expectation.winners == () and expectation.wrote
    stale = ModelItem(B, BASE, T0, base_version=1)
    expectation = expected_batch("server_wins", A, T0, [stale], T0, server_version=2)
    assert expectation.final == A and expectation.winners == ("server",)
    assert not expectation.wrote


def test_pushes_served_in_turn_each_meet_what_the_last_left() -> None:
    c = SyncTaskFields(content="C")
    pushes = [("B", [ModelItem(B, BASE, T0, 1)]), ("C", [ModelItem(c, BASE, T0, 1)])]
    expectations, final = expected_pushes("client_wins", A, T0, 2, pushes, T0)
    assert final == c and expectations["B"].winners == expectations["C"].winners == ("client",)
    # under last_write_wins a push that wrote is newer than the next pusher's edit
    later = T0 + timedelta(seconds=1)
    pushes = [("B", [ModelItem(B, BASE, later, 1)]), ("C", [ModelItem(c, BASE, later, 1)])]
    expectations, final = expected_pushes("last_write_wins", A, T0, 2, pushes,
                                          T0 + timedelta(seconds=2))
    assert final == B and expectations["C"].winners == ("server",)
