"""Conflict resolution for every strategy, with property-based tests for merge."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tasksync.models import PRIORITIES, STATUSES, SyncTaskFields, Task
from tasksync.server.conflicts import merge, resolve

fields_strategy = st.builds(
    SyncTaskFields,
    content=st.sampled_from(["a", "b", "c"]),
    status=st.sampled_from(STATUSES),
    priority=st.sampled_from(PRIORITIES),
    deleted=st.booleans(),
)


def server_task(updated_at: str = "2026-01-01T12:00:00.000000Z", content: str = "server") -> Task:
    return Task(id="t", repository="r", content=content, version=3, updated_at=updated_at)


CLIENT = SyncTaskFields(content="client")


def test_server_wins_keeps_the_server_task() -> None:
    resolution = resolve("server_wins", server_task(), CLIENT, "", None)
    assert (resolution.winner, resolution.apply) == ("server", None)


def test_client_wins_applies_the_client_fields() -> None:
    resolution = resolve("client_wins", server_task(), CLIENT, "", None)
    assert (resolution.winner, resolution.apply) == ("client", CLIENT)


def test_last_write_wins_by_client_clock() -> None:
    later = resolve("last_write_wins", server_task(), CLIENT, "2026-01-01T12:00:01Z", None)
    earlier = resolve("last_write_wins", server_task(), CLIENT, "2026-01-01T11:59:59Z", None)
    assert later.winner == "client" and later.apply == CLIENT
    assert earlier.winner == "server" and earlier.apply is None


def test_last_write_wins_tie_and_garbage_go_to_the_server() -> None:
    assert resolve("last_write_wins", server_task(), CLIENT, "2026-01-01T12:00:00Z", None).winner == "server"
    assert resolve("last_write_wins", server_task(), CLIENT, "yesterday", None).winner == "server"


def test_manual_changes_nothing_and_names_no_winner() -> None:
    resolution = resolve("manual", server_task(), CLIENT, "", None)
    assert (resolution.winner, resolution.apply) == ("none", None)


def test_merge_without_base_falls_back_to_server() -> None:
    assert resolve("merge", server_task(), CLIENT, "", None).winner == "server"


def test_merge_takes_each_side_for_the_fields_it_changed() -> None:
    base = SyncTaskFields(content="base", status="pending", priority="low")
    server = SyncTaskFields(content="server edit", status="pending", priority="low")
    client = SyncTaskFields(content="base", status="completed", priority="low")
    resolution = merge(base, server, client)
    assert resolution.apply == SyncTaskFields(content="server edit", status="completed",
                                              priority="low")
    assert resolution.contested_fields == []


def test_merge_same_field_changed_differently_keeps_server_and_reports_it() -> None:
    base = SyncTaskFields(content="base")
    resolution = merge(base, SyncTaskFields(content="s"), SyncTaskFields(content="c"))
    assert resolution.apply.content == "s"
    assert resolution.contested_fields == ["content"]


@given(base=fields_strategy, server=fields_strategy, client=fields_strategy)
def test_merge_never_invents_values(base, server, client) -> None:
    merged = merge(base, server, client).apply
    for name in ("content", "status", "priority", "deleted"):
        assert getattr(merged, name) in (getattr(server, name), getattr(client, name))


@given(base=fields_strategy, server=fields_strategy)
def test_merge_with_an_unchanged_client_is_the_server(base, server) -> None:
    assert merge(base, server, base).apply == server


@given(base=fields_strategy, client=fields_strategy)
def test_merge_with_an_unchanged_server_is_the_client(base, client) -> None:
    assert merge(base, base, client).apply == client


@given(base=fields_strategy, server=fields_strategy, client=fields_strategy)
def test_merge_contests_exactly_the_fields_both_sides_changed_differently(base, server, client) -> None:
    contested = set(merge(base, server, client).contested_fields)
    expected = {
        name for name in ("content", "status", "priority", "deleted")
        if len({getattr(base, name), getattr(server, name), getattr(client, name)}) == 3
    }
    assert contested == expected
