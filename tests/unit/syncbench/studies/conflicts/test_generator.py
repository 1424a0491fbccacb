"""Generated contests: a function of the seed, every boundary on purpose, specs replayable."""

from __future__ import annotations

import copy
import json
from collections import Counter

import pytest

from syncbench.studies.conflicts import ConflictParams, plan_workload
from syncbench.studies.conflicts.generator import (
    FEATURES,
    ContestSpecError,
    check_contest,
    contest_features,
    contest_kind,
    generate_contests,
    padded,
    spec_json,
)
from tasksync.models import MAX_CONTENT_CHARS, MAX_ID_CHARS, STRATEGIES


def default_contests(seed: int = 1) -> list[dict]:
    params = ConflictParams(seed=seed)
    return list(plan_workload(params).contests)


def test_the_contests_are_a_function_of_the_seed() -> None:
    assert default_contests(5) == default_contests(5)
    assert default_contests(5) != default_contests(6)
    # a contest's spec is its own seed's: contest n does not depend on how many follow
    assert generate_contests(5, 3, STRATEGIES) == generate_contests(5, 10, STRATEGIES)[:3]


def test_a_default_run_makes_tens_of_valid_contests_in_their_own_repositories() -> None:
    contests = default_contests()
    assert 40 <= len(contests) <= 80
    for spec in contests:
        check_contest(spec)
    assert len({spec["contest"] for spec in contests}) == len(contests)
    assert {spec["strategy"] for spec in contests} == set(STRATEGIES)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_boundary_appears_in_a_default_run(seed: int) -> None:
    seen = Counter(name for spec in default_contests(seed) for name in contest_features(spec))
    assert set(seen) == set(FEATURES), f"missing: {set(FEATURES) - set(seen)}"
    # an equal-timestamp tie is only a tie under last_write_wins: those are there too
    assert any("equal_updated_at" in contest_features(spec)
               and spec["strategy"] == "last_write_wins" for spec in default_contests(seed))


def test_the_boundaries_are_the_protocols_limits() -> None:
    contests = default_contests()
    padded_steps = [step for spec in contests for step in spec["steps"] if "pad" in step]
    assert padded_steps and all(step["pad"] == MAX_CONTENT_CHARS for step in padded_steps)
    content = padded(padded_steps[0]["content"], padded_steps[0]["pad"])
    assert len(content) == MAX_CONTENT_CHARS and len(content.encode()) > MAX_CONTENT_CHARS
    assert any(len(spec["task_id"]) == MAX_ID_CHARS for spec in contests)
    kinds = {contest_kind(spec) for spec in contests}
    assert {"edit/edit", "create/create", "delete/delete"} <= kinds
    assert any(kind.count("/") == 2 for kind in kinds)  # three replicas


def test_a_spec_round_trips_through_the_contests_parameter() -> None:
    contests = default_contests()[:7]
    again = [json.loads(spec_json(spec)) for spec in contests]  # as the outcomes frame keeps it
    params = ConflictParams(workload="generated", contests=again)
    assert list(plan_workload(params).contests) == contests
    # given contests run instead of generated ones, whatever generated_contests says
    assert plan_workload(params.replace(generated_contests=1)).contests == tuple(contests)
    assert plan_workload(params).cells == () and plan_workload(params).trials == ()


def test_features_are_read_from_the_steps() -> None:
    spec = {"contest": 0, "strategy": "last_write_wins", "token": "t", "task_id": "g-0.t",
            "base": {"content": "base"}, "contenders": ["B"], "offline": False,
            "push": "serial",
            "steps": [{"side": "B", "op": "edit", "content": "x", "priority": "high",
                       "tie": True},
                      {"side": "A", "op": "edit", "content": "x", "status": "completed"},
                      {"side": "A", "op": "sync"}]}
    # B's tie came before A's push: it meets no equal timestamp
    assert contest_features(spec) == ["same_field_same_value", "different_fields"]
    spec["steps"] = spec["steps"][1:] + spec["steps"][:1]
    assert contest_features(spec)[0] == "equal_updated_at"


def spec_with(**changes) -> dict:
    spec = copy.deepcopy(default_contests()[1])
    spec.update(changes)
    return spec


@pytest.mark.parametrize(("changes", "says"), [
    ({"strategy": "first_wins"}, "strategy must be one of"),
    ({"contenders": ["C"]}, "contenders must be"),
    ({"strategy": "manual", "contenders": ["B", "C"]}, "a manual contest has one contender"),
    ({"task_id": "x" * (MAX_ID_CHARS + 1)}, "task_id must be"),
    ({"steps": [{"side": "A", "op": "edit", "content": "a"}]}, "A's last step must be a sync"),
    ({"steps": [{"side": "B", "op": "sync"}]}, "only A syncs"),
    ({"steps": [{"side": "A", "op": "rm"}, {"side": "A", "op": "edit", "content": "a"},
                {"side": "A", "op": "sync"}]}, "a delete is a side's last write"),
    ({"steps": [{"side": "A", "op": "edit", "content": "a", "pad": MAX_CONTENT_CHARS + 1},
                {"side": "A", "op": "sync"}]}, "pad pads a content"),
    ({"colour": "red"}, "unknown field(s) colour"),
])
def test_a_bad_spec_is_refused_with_what_to_change(changes: dict, says: str) -> None:
    with pytest.raises(ContestSpecError, match="contest: ") as caught:
        check_contest(spec_with(**changes))
    assert says in str(caught.value)
