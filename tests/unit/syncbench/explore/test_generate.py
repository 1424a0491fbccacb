"""The generator: seeded and pure, every kind at default weights, boundary values on purpose,
weights that exclude, weights refused with a message naming them."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from syncbench.explore import (
    DEFAULT_WEIGHTS,
    EQUAL_TIME,
    KINDS,
    Shape,
    generate,
    op_counts,
    shape_of,
)
from syncbench.explore.gates import GATE_PROBES, PROBE_ORDER, WS_PROBES
from syncbench.explore.weights import role_of_kind
from syncbench.studies.sync import SyncParams
from syncbench.study import StudyParamError
from tasksync.models import MAX_CONTENT_CHARS, MAX_ID_CHARS

SHAPE = Shape(operations=400)


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    first = generate(SHAPE, 7)
    assert generate(SHAPE, 7) == first
    assert generate(SHAPE, 8) != first
    assert json.loads(json.dumps(first)) == first, "plain JSON, as a replay file holds it"


def test_ops_are_numbered_in_order_and_name_their_client_op_kind_and_pause() -> None:
    schedule = generate(SHAPE, 1)
    assert [op["step"] for op in schedule] == list(range(len(schedule)))
    assert len(schedule) >= SHAPE.operations
    for op in schedule:
        assert {"step", "client", "op", "kind", "pause"} <= set(op)
        assert op["kind"] in KINDS and op["pause"] >= 0
        role = role_of_kind(op["kind"])
        assert op["client"][0] == {"client": "c", "replica": "r", "subscriber": "s",
                                   "cli_replica": "k"}[role]


def test_every_kind_appears_at_default_weights_over_a_few_hundred_ops() -> None:
    counts = {kind for seed in (1, 2, 3) for kind in op_counts(generate(SHAPE, seed))}
    # SHAPE has no CLI replica (test_cli_schedule.py has their kinds)
    kinds = {kind for kind in KINDS if role_of_kind(kind) != "cli_replica"}
    assert counts == kinds, f"missing: {kinds - counts}"


@pytest.mark.parametrize("seed", range(1, 21))
def test_every_weighted_kind_is_made_at_least_once_by_every_seed_of_a_small_run(
        seed: int) -> None:
    # a kind is often what a declared path needs: a seed that never drew an offline burst
    # left the sync study's sync_failed_offline unknown (a sweep of 20 seeds found it)
    small = Shape(operations=120, cli_replicas=1)
    made = set(op_counts(generate(small, seed)))
    assert made == set(KINDS), f"missing: {set(KINDS) - made}"


def test_boundary_values_are_generated_on_purpose() -> None:
    schedule = [op for seed in (5, 6) for op in generate(SHAPE, seed)]
    batches = [op for op in schedule if op["op"] == "batch"]
    assert any(not op["items"] for op in batches), "an empty batch"
    assert any(sum(item["updated_at"] == EQUAL_TIME for item in op["items"]) >= 2
               for op in batches), "items with equal updated_at"
    assert any(op.get("content_size") == MAX_CONTENT_CHARS for op in schedule)
    ids = [op.get("task_id") or "" for op in schedule]
    ids += [item.get("task_id") or "" for op in batches for item in op["items"]]
    assert any(len(task_id) == MAX_ID_CHARS for task_id in ids), "the longest id allowed"
    positions = {op["at"] for op in schedule if op["op"] in ("changes", "subscribe")}
    assert {"zero", "first", "middle", "last", "beyond", "max"} <= positions
    assert any(op["pull_limit"] == 0 for op in batches)


def test_a_replay_under_writes_names_the_busiest_repository_and_its_creates() -> None:
    shape = Shape(operations=300, repositories=2)
    for seed in (1, 2):
        schedule = generate(shape, seed)
        replays = [op for op in schedule if op["op"] == "replay_under_writes"]
        assert replays
        for op in replays:
            named = Counter(o.get("repository") for o in schedule[:op["step"]])
            busiest = max(named[repo] for repo in ("tasks-0", "tasks-1"))
            assert named[op["repository"]] == busiest
            assert 3 <= len(op["writes"]) <= 6
            assert all({"content", "status", "priority"} <= set(w) for w in op["writes"])


def test_collisions_and_retries_name_what_they_collide_with() -> None:
    schedule = generate(SHAPE, 2)
    by_step = {op["step"]: op for op in schedule}
    shared = Counter(op["client"] for op in schedule
                     if op["op"] == "create" and str(op.get("task_id")).startswith("shared-"))
    assert len(shared) >= 2, "ids that collide across clients"
    # a retry names an earlier write of the same client, and sends its key again
    retries = [op for op in schedule if op["op"] == "retry"]
    assert retries
    for retry in retries:
        original = by_step[retry["of"]]
        assert original["client"] == retry["client"] and original["step"] < retry["step"]
        assert original["key"] == retry["key"]
    # change ids are counted "1", "2", ... per client and repository, so clients collide
    change_ids = Counter((item["change_id"], op["repository"]) for op in schedule
                         if op["op"] == "batch" for item in op["items"])
    assert change_ids[("1", "tasks-0")] >= 2
    resent = [item for op in schedule if op["kind"] == "batch_resend" for item in op["items"]]
    assert resent and all(item["resend"] for item in resent)
    counted = [op["key"] for op in schedule if op["kind"] == "shared_key"]
    assert "1" in counted


def test_an_offline_burst_writes_while_offline_then_syncs() -> None:
    schedule = generate(SHAPE, 4)
    burst = [op for op in schedule if op["kind"] == "offline_burst"]
    assert burst
    replica = burst[0]["client"]
    mine = [op["op"] for op in burst if op["client"] == replica]
    start = mine.index("offline")
    end = mine.index("online", start)
    assert any(op.startswith("local_") for op in mine[start:end])
    assert mine[end + 1] == "sync"


def test_a_weight_of_zero_excludes_its_kind() -> None:
    weights = {"batch": 0, "subscribe": 0, "retry_write": 0}
    counts = op_counts(generate(Shape(operations=300, weights=weights), 1))
    assert not set(weights) & set(counts)
    assert counts, "the other kinds still run"


def test_only_some_kinds_make_a_schedule_of_those_kinds() -> None:
    weights = {kind: 0.0 for kind in DEFAULT_WEIGHTS} | {"create": 1.0, "get": 1.0}
    schedule = generate(Shape(operations=50, weights=weights), 1)
    assert set(op_counts(schedule)) == {"create", "get"}


@pytest.mark.parametrize(("weights", "said"), [
    ({"teleport": 1.0}, "teleport"),
    ({"create": -1.0}, "0 or more"),
    ({"create": float("nan")}, "finite"),
    ({"create": True}, "finite number"),
    ({kind: 0 for kind in DEFAULT_WEIGHTS}, "at least one op kind"),
    ({kind: 0 for kind in DEFAULT_WEIGHTS} | {"retry_write": 1.0}, "let a workload start"),
])
def test_bad_weights_give_a_clear_study_param_error(weights: dict, said: str) -> None:
    with pytest.raises(StudyParamError, match="weights") as raised:
        generate(Shape(operations=10, weights=weights), 1)
    assert said in str(raised.value)


def test_weights_of_a_role_without_clients_are_refused_when_nothing_else_is_left() -> None:
    only_subscribers = {kind: 0 for kind in DEFAULT_WEIGHTS} | {"subscribe": 1.0}
    with pytest.raises(StudyParamError, match="role has clients"):
        generate(Shape(operations=10, subscribers=0, weights=only_subscribers), 1)


def test_the_shape_comes_from_the_sync_studys_params() -> None:
    params = SyncParams(http_clients=2, replicas=2, subscribers=1, repositories=1,
                        generated_operations=120, weights={"list": 0})
    shape = shape_of(params)
    assert (shape.clients, shape.replicas, shape.subscribers) == (2, 2, 1)
    assert shape.repositories == 2, "HTTP clients always have two repositories to collide in"
    schedule = generate(params, params.seed)
    assert len(schedule) >= 120 and "list" not in op_counts(schedule)
    assert shape.cli_replicas == 1, "one CLI replica by default in the sync study"
    assert {op["client"] for op in schedule} <= {"c0", "c1", "r0", "r1", "s0", "k0"}


def test_bad_weights_are_refused_by_the_sync_studys_params_too() -> None:
    with pytest.raises(StudyParamError, match="parameter 'weights'"):
        SyncParams(weights={"create": -2})


def test_gate_probes_come_in_order_writes_first_each_before_any_twice() -> None:
    schedule = generate(Shape(operations=600, cli_replicas=1), 1)
    probes = [op["probe"] for op in schedule if op["op"] == "gate"]
    assert probes == [PROBE_ORDER[i % len(PROBE_ORDER)] for i in range(len(probes))]
    assert set(probes) == set(GATE_PROBES), "a default-sized run sends every probe"
    writes = [name for name in PROBE_ORDER if GATE_PROBES[name].writes]
    assert list(PROBE_ORDER[:len(writes)]) == writes
    ws = [op["probe"] for op in schedule if op["op"] == "ws_gate"]
    assert ws and len(set(ws)) == min(len(ws), len(WS_PROBES))


@pytest.mark.parametrize("seed", range(1, 31))
def test_no_two_new_tasks_share_a_content_key(seed: int) -> None:
    # the duplicate check tells tasks apart by content key: an equal-timestamps batch once
    # numbered its second draw of items from 0 again, and a crash sweep's seed 3 failed
    # no_duplicates_from_retries on two tasks the generator itself gave one key
    keys: Counter[str] = Counter()
    for op in generate(Shape(operations=300), seed):
        news = ([op] if op["op"] == "create" else
                [item for item in op.get("items", []) if "content" in item
                 and not item.get("resend")] if op["op"] == "batch" else [])
        keys.update(new["content"].split(" ")[0] for new in news)
    assert [key for key, n in keys.items() if n > 1] == []
