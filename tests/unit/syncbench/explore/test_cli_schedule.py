"""The CLI replicas' part of a generated schedule: every CLI kind at default weights when
there is a CLI replica, none without one (and the rest of the schedule as if the CLI kinds
did not exist), edits only once a CLI replica can hold tasks, a resolve after its listing."""

from __future__ import annotations

from syncbench.explore import KINDS, Shape, generate, op_counts
from syncbench.explore.cli_schedule import WATCH_SECONDS
from syncbench.explore.weights import CLI_REPLICA, role_of_kind

CLI_KINDS = {kind for kind in KINDS if role_of_kind(kind) == CLI_REPLICA}


def test_every_cli_kind_appears_at_default_weights_with_one_cli_replica() -> None:
    schedule = [op for seed in (3, 4) for op in generate(Shape(operations=800, cli_replicas=1),
                                                         seed)]
    counts = op_counts(schedule)
    assert CLI_KINDS <= set(counts), f"missing: {CLI_KINDS - set(counts)}"
    cli_ops = {op["op"] for op in schedule if op["client"].startswith("k")}
    assert cli_ops == {"cli_add", "cli_edit", "cli_rm", "cli_list", "cli_sync",
                       "cli_conflicts", "cli_resolve", "cli_watch"}
    assert {op["client"] for op in schedule if op["kind"] in CLI_KINDS} == {"k0"}


def test_no_cli_replica_means_no_cli_op_and_the_rest_as_without_cli_kinds() -> None:
    none = generate(Shape(operations=300, cli_replicas=0), 5)
    assert not CLI_KINDS & set(op_counts(none))
    assert not any(op["client"].startswith("k") for op in none)
    # 0 disables the role without moving anyone else's draws: the same schedule as with a
    # CLI replica whose kinds all weigh 0
    weighed_out = Shape(operations=300, cli_replicas=1, weights=dict.fromkeys(CLI_KINDS, 0))
    assert generate(weighed_out, 5) == none


def test_cli_replicas_edit_only_once_they_can_hold_tasks_and_resolve_after_listing() -> None:
    schedule = generate(Shape(operations=1500, cli_replicas=2), 7)
    for name in ("k0", "k1"):
        mine = [op for op in schedule if op["client"] == name]
        assert mine, f"{name} has ops"
        first_holding = next(index for index, op in enumerate(mine)
                             if op["op"] in ("cli_add", "cli_sync"))
        assert all(op["op"] not in ("cli_edit", "cli_rm") for op in mine[:first_holding])
        for index, op in enumerate(mine):
            if op["op"] == "cli_resolve":
                # the shared task edited first, once some replica created it
                edited = mine[index - 3]["op"] == "cli_edit" \
                    and mine[index - 3]["kind"] == "cli_resolve"
                contest = mine[index - (3 if edited else 2):index + 1]
                assert [o["op"] for o in contest] == [*(["cli_edit"] if edited else []),
                                                      "cli_sync", "cli_conflicts", "cli_resolve"]
                assert [o["step"] for o in contest] == list(range(
                    op["step"] - len(contest) + 1, op["step"] + 1))
                assert not edited or contest[0]["key_of"]
                assert contest[-3]["strategy"] == "manual"
                assert {o["kind"] for o in contest} == {"cli_resolve"}
                assert op["keep"] in ("local", "server")
            if op["op"] == "cli_watch":
                assert op["seconds"] in WATCH_SECONDS
            if op["op"] == "cli_add":
                assert op["content"].startswith(op["key"] + " ")
                assert op["task_id"] in (None, f"{name}-{op['step']}")
    cli_ops = [op for op in schedule if op["client"].startswith("k")]
    strategies = {op["strategy"] for op in cli_ops if op["op"] == "cli_sync"}
    assert {"server_wins", "manual"} <= strategies
    assert any(op.get("by_prefix") for op in cli_ops) and any(op.get("done") for op in cli_ops)
    assert any(op.get("key_of") for op in cli_ops), "the task replicas share"
