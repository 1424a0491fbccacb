"""Replica.sync against an in-memory server: what is pushed, kept, applied and stored."""

from __future__ import annotations

import asyncio

import pytest

from tasksync.client import ServerUnreachable as ClientUnreachable
from tasksync.client import TransportError, ValidationFailed
from tasksync.models import ErrorBody, SyncTaskFields
from tasksync.replica import (
    InvalidTask,
    NoConflict,
    NoServerConfigured,
    Replica,
    ReplicaError,
    ServerUnreachable,
    SyncError,
)

URL = "http://fake.invalid:1"


@pytest.fixture
def make_replica(tmp_path, server):
    opened: list[Replica] = []

    def make(name: str = "alice", **options) -> Replica:
        replica = Replica(
            tmp_path / f"{name}.db", server_url=URL, client_id=name, batch_client=server,
            **options,
        )
        opened.append(replica)
        return replica

    yield make
    for replica in opened:
        replica.close()


async def conflicting_edit(alice: Replica, server) -> Replica:
    """Alice's task t-1 ("a", v1) edited by Bob on the server and by Alice locally."""
    alice.add("a", task_id="t-1")
    await alice.sync()
    server.write("t-1", "bob's", origin="bob")
    alice.edit("t-1", content="alice's")
    return alice


async def test_sync_pushes_the_outbox_in_order_and_empties_it(make_replica, server):
    alice = make_replica()
    alice.add("a", task_id="t-1")
    alice.edit("t-1", content="b")
    alice.add("c", task_id="t-2")

    report = await alice.sync()

    [request] = server.requests
    assert [item["change_id"] for item in request["items"]] == ["alice:1", "alice:2", "alice:3"]
    assert [item["base_version"] for item in request["items"]] == [0, 0, 0]
    assert request["client_id"] == "alice"
    assert (report.pushed, report.pending, report.round_trips) == (3, 0, 1)
    assert alice.pending_count() == 0
    assert {i: (t.fields, t.version) for i, t in alice.tasks().items()} == {
        "t-1": (SyncTaskFields(content="b"), 2),
        "t-2": (SyncTaskFields(content="c"), 1),
    }
    assert alice.cursor() == 3


async def test_an_edit_after_sync_is_based_on_the_acknowledged_version(make_replica, server):
    alice = make_replica()
    alice.add("a", task_id="t-1")
    await alice.sync()

    alice.edit("t-1", content="b")
    [change] = alice.pending_changes()

    assert change.base_version == 1
    assert change.base is not None and change.base.content == "a"


async def test_sync_with_an_empty_outbox_pulls_others_changes(make_replica, server):
    server.write("t-9", "from bob", origin="bob")
    alice = make_replica()

    report = await alice.sync()

    assert (report.pushed, report.pulled, report.applied) == (0, 1, 1)
    assert alice.get("t-9").content == "from bob"
    assert alice.get("t-9").version == 1


async def test_large_outboxes_go_in_chunks(make_replica, server):
    alice = make_replica(chunk_size=2)
    for n in range(5):
        alice.add(f"task {n}", task_id=f"t-{n}")

    report = await alice.sync()

    assert [len(request["items"]) for request in server.requests] == [2, 2, 1]
    assert report.round_trips == 3 and report.pushed == 5
    # Each chunk carries the cursor the previous reply advanced to.
    assert [request["cursor"] for request in server.requests] == [0, 2, 4]


async def test_pulls_continue_while_the_server_has_more(make_replica, server):
    for n in range(5):
        server.write(f"t-{n}", f"task {n}")
    alice = make_replica(pull_limit=2)

    report = await alice.sync()

    assert report.round_trips == 3 and report.pulled == 5
    assert alice.cursor() == 5 and len(alice.list()) == 5


async def test_server_down_raises_a_clear_error_and_keeps_the_outbox(make_replica, server):
    alice = make_replica()
    alice.add("a", task_id="t-1")
    alice.add("b", task_id="t-2")
    server.fail_calls = {1}

    with pytest.raises(ServerUnreachable) as raised:
        await alice.sync()

    message = str(raised.value)
    assert f"server unreachable at {URL}" in message
    assert "your 2 local changes are kept in the outbox" in message
    assert "run `tasksync sync` again when online" in message
    assert raised.value.pending == 2
    assert raised.value.definitely_not_applied  # the connection was refused: nothing sent
    assert alice.pending_count() == 2

    report = await alice.sync()  # back online
    assert report.pushed == 2 and alice.pending_count() == 0


async def test_a_failed_second_chunk_keeps_exactly_its_rows(make_replica, server):
    alice = make_replica(chunk_size=2)
    for n in range(5):
        alice.add(f"task {n}", task_id=f"t-{n}")
    server.fail_calls = {2}

    with pytest.raises(ServerUnreachable) as raised:
        await alice.sync()

    assert raised.value.pending == 3
    assert not raised.value.definitely_not_applied  # the first chunk was applied
    assert [c.change_id for c in alice.pending_changes()] == ["alice:3", "alice:4", "alice:5"]
    assert alice.get("t-0").version == 1 and alice.get("t-2").version == 0
    assert alice.cursor() == 2  # the first reply was applied with its cursor

    await alice.sync()
    assert alice.pending_count() == 0
    assert sorted(server.tasks) == [f"t-{n}" for n in range(5)]


async def test_changes_the_reply_does_not_acknowledge_stay_queued(make_replica, server):
    alice = make_replica()
    alice.add("a", task_id="t-1")
    alice.add("b", task_id="t-2")
    server.drop_results_after = 1

    report = await alice.sync()

    assert report.pushed == 1 and report.pending == 1
    assert [c.task_id for c in alice.pending_changes()] == ["t-2"]
    server.drop_results_after = None
    report = await alice.sync()
    assert report.replayed == 1  # the server had applied it; only the answer was missing
    assert alice.pending_count() == 0
    task = alice.tasks()["t-2"]
    assert (task.fields, task.version) == (SyncTaskFields(content="b"), 1)


async def test_a_resent_change_the_server_already_applied_is_not_applied_twice(
    make_replica, server
):
    alice = make_replica()
    alice.add("a", task_id="t-1")
    server.drop_results_after = 0  # applied, but the acknowledgement is lost

    await alice.sync()
    server.drop_results_after = None
    report = await alice.sync()

    assert report.replayed == 1
    assert server.tasks["t-1"].version == 1
    assert alice.get("t-1").version == 1


async def test_pulled_events_do_not_overwrite_a_task_with_pending_changes(make_replica, server):
    alice = make_replica(chunk_size=1)
    alice.add("a", task_id="t-1")
    await alice.sync()
    server.write("t-1", "bob's", origin="bob")
    alice.add("b", task_id="t-2")
    alice.edit("t-1", priority="high")
    server.fail_calls = {3}  # t-2's chunk (which pulls bob's edit) goes through, t-1's not

    with pytest.raises(ServerUnreachable):
        await alice.sync()

    assert alice.cursor() == 3  # bob's event was pulled...
    task = alice.get("t-1")
    assert (task.content, task.priority, task.unsynced) == ("a", "high", 1)  # ...not shown


async def test_an_edit_made_while_a_sync_is_in_flight_stays_visible(make_replica, server):
    alice = make_replica()
    alice.add("a", task_id="t-1")
    original = server.batch_sync

    async def edit_during_request(*args, **kwargs):
        alice.edit("t-1", content="typed meanwhile")
        return await original(*args, **kwargs)

    server.batch_sync = edit_during_request  # type: ignore[method-assign]
    report = await alice.sync()

    assert report.pushed == 1
    assert alice.get("t-1").content == "typed meanwhile"
    [change] = alice.pending_changes()
    assert change.task.content == "typed meanwhile"

    server.batch_sync = original  # type: ignore[method-assign]
    await alice.sync()
    task = alice.tasks()["t-1"]
    assert (task.fields, task.version) == (SyncTaskFields(content="typed meanwhile"), 2)


async def test_own_earlier_writes_are_never_a_conflict(make_replica, server):
    alice = make_replica()
    alice.add("a", task_id="t-1")
    await alice.sync()
    alice.edit("t-1", content="b")
    alice.edit("t-1", content="c")
    alice.done("t-1")

    report = await alice.sync()

    assert report.conflicts == []
    task = alice.tasks()["t-1"]
    assert (task.fields, task.version) == (SyncTaskFields(content="c", status="completed"), 4)


async def test_server_wins_conflict_is_stored_and_the_server_value_shown(make_replica, server):
    alice = await conflicting_edit(make_replica(), server)

    report = await alice.sync()

    [conflict] = report.conflicts
    assert (conflict.task_id, conflict.strategy, conflict.winner) == ("t-1", "server_wins", "server")
    assert conflict.client.content == "alice's"
    assert conflict.server is not None and conflict.server.content == "bob's"
    assert not conflict.unresolved
    assert alice.get("t-1").content == "bob's"
    assert alice.conflicts() == report.conflicts
    assert alice.conflicts(unresolved_only=True) == []


async def test_client_wins_conflict_applies_the_local_value(make_replica, server):
    alice = await conflicting_edit(make_replica(), server)

    report = await alice.sync("client_wins")

    assert report.conflicts[0].winner == "client"
    assert alice.get("t-1").content == "alice's"
    assert server.tasks["t-1"].content == "alice's"


async def test_manual_conflict_keeps_both_sides_until_resolved(make_replica, server):
    alice = await conflicting_edit(make_replica(), server)

    report = await alice.sync("manual")

    [conflict] = alice.conflicts(unresolved_only=True)
    assert conflict == report.conflicts[0] and conflict.winner == "none"
    assert alice.get("t-1").content == "alice's" and alice.get("t-1").in_conflict
    assert server.tasks["t-1"].content == "bob's"

    server.write("t-1", "bob's again", origin="bob")
    await alice.sync("manual")  # a pulled event must not hide the local side
    assert alice.get("t-1").content == "alice's"


async def test_resolve_keep_local_pushes_the_local_side_over_the_newest_server_version(
    make_replica, server
):
    alice = await conflicting_edit(make_replica(), server)
    await alice.sync("manual")
    server.write("t-1", "bob's again", origin="bob")
    await alice.sync("manual")

    alice.resolve("t-1", keep="local")
    [change] = alice.pending_changes()
    assert change.base_version == 3 and change.task.content == "alice's"
    report = await alice.sync("manual")

    assert report.conflicts == []
    assert server.tasks["t-1"].content == "alice's"
    task = alice.tasks()["t-1"]
    assert (task.fields, task.version) == (SyncTaskFields(content="alice's"), 4)
    assert alice.conflicts(unresolved_only=True) == []
    assert alice.conflicts()[0].resolution == "local"


async def test_resolve_keep_server_takes_the_newest_server_version(make_replica, server):
    alice = await conflicting_edit(make_replica(), server)
    await alice.sync("manual")
    alice.edit("t-1", priority="high")  # made after the conflict: dropped with the local side

    task = alice.resolve("t-1", keep="server")

    assert (task.content, task.priority, task.version) == ("bob's", "medium", 2)
    assert alice.pending_count() == 0
    assert not alice.get("t-1").in_conflict


async def test_resolve_without_an_open_conflict_is_refused(make_replica):
    alice = make_replica()
    alice.add("a", task_id="t-1")

    with pytest.raises(NoConflict):
        alice.resolve("t-1", keep="local")


async def test_a_conflict_replayed_without_a_report_is_rebuilt(make_replica, server):
    alice = await conflicting_edit(make_replica(), server)
    real = server.batch_sync

    async def lose_the_reply(*args, **kwargs):
        await real(*args, **kwargs)  # the server applies it and reports the conflict...
        raise ClientUnreachable("connection reset")  # ...but the reply never arrives

    server.batch_sync = lose_the_reply  # type: ignore[method-assign]
    with pytest.raises(ServerUnreachable):
        await alice.sync("manual")
    server.batch_sync = real  # type: ignore[method-assign]

    report = await alice.sync("manual")

    [conflict] = report.conflicts
    assert conflict.conflict_id is None and conflict.winner == "none"
    assert alice.get("t-1").content == "alice's" and alice.get("t-1").in_conflict


async def test_two_replicas_converge_after_syncing(make_replica, server):
    alice, bob = make_replica("alice"), make_replica("bob")
    alice.add("shared", task_id="t-1")
    await alice.sync()
    await bob.sync()
    bob.edit("t-1", priority="high")
    alice.add("alice only", task_id="t-2")
    bob.rm("t-1")

    for replica in (bob, alice, bob):
        await replica.sync()

    assert alice.tasks() == bob.tasks()
    assert alice.tasks()["t-1"].deleted is True


async def test_a_rejected_server_error_is_a_sync_error_not_unreachable(make_replica, server):
    alice = make_replica()
    alice.add("a", task_id="t-1")

    async def refuse(*args, **kwargs):
        raise ValidationFailed(422, ErrorBody(error="validation_error", message="bad"))

    server.batch_sync = refuse  # type: ignore[method-assign]
    with pytest.raises(SyncError) as raised:
        await alice.sync()

    assert not isinstance(raised.value, ServerUnreachable)
    assert raised.value.definitely_not_applied  # a 422 is refused before any write
    assert "kept in the outbox" in str(raised.value)
    assert alice.pending_count() == 1


async def test_sync_without_a_server_url_says_how_to_set_one(tmp_path):
    with Replica(tmp_path / "r.db") as replica:
        with pytest.raises(NoServerConfigured, match="--server"):
            await replica.sync()


async def test_concurrent_syncs_of_one_replica_push_each_change_once(make_replica, server):
    alice = make_replica()
    for n in range(10):
        alice.add(f"task {n}", task_id=f"t-{n}")

    reports = await asyncio.gather(alice.sync(), alice.sync())

    assert sum(report.pushed for report in reports) == 10
    assert sum(len(request["items"]) for request in server.requests) == 10


async def test_an_unknown_strategy_is_refused_before_anything_is_sent(make_replica, server):
    alice = make_replica()
    alice.add("a", task_id="t-1")

    with pytest.raises(InvalidTask, match="unknown strategy"):
        await alice.sync("newest")
    assert server.calls == 0 and alice.pending_count() == 1


async def test_a_sync_that_timed_out_may_have_applied(make_replica, server):
    alice = make_replica()
    alice.add("a", task_id="t-1")

    async def time_out(*args, **kwargs):
        raise TransportError("ReadTimeout on POST /api/v1/sync/batch")

    server.batch_sync = time_out  # type: ignore[method-assign]
    with pytest.raises(ServerUnreachable) as raised:
        await alice.sync()

    assert not raised.value.definitely_not_applied
    assert "run `tasksync sync` again when online" in str(raised.value)


def test_local_refusals_certainly_applied_nothing(make_replica):
    alice = make_replica()
    alice.add("a", task_id="t-1")
    for refused in (lambda: alice.add("again", task_id="t-1"), lambda: alice.edit("nope", content="x"),
                    lambda: alice.add("x", task_id="bad/id"), lambda: alice.resolve("t-1", "local")):
        with pytest.raises(ReplicaError) as raised:
            refused()
        assert raised.value.definitely_not_applied, raised.value
