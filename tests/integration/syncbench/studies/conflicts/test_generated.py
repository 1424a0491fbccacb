"""Generated contests of the conflicts study on a real Stack (tasksync server + Toxiproxy)."""

from __future__ import annotations

import json

from syncbench.studies.conflicts import ConflictParams, run
from syncbench.studies.conflicts.generator import FEATURES


async def test_generated_contests_pass_on_the_correct_server_and_replay_from_their_spec(
) -> None:
    # 12 contests feature each boundary once (contest n features FEATURES[n % 12]).
    params = ConflictParams(seed=2, workload="generated", generated_contests=len(FEATURES))
    result = await run(params)

    assert result.passed, result.checks_frame().to_string()
    outcomes = result.outcomes
    assert len(outcomes) == len(FEATURES) and set(outcomes["workload"]) == {"generated"}
    seen = {name for features in outcomes["features"] for name in features.split(",") if name}
    assert seen == set(FEATURES)
    assert result.metric("generated_contests") == len(FEATURES)
    assert result.metric("replicas_not_quiesced") == 0
    # the concurrent round was explained by an order of its two pushes
    concurrent = outcomes[outcomes["features"].str.contains("concurrent_pushes")]
    assert all(len(order.split(",")) == 2 for order in concurrent["push_order"])
    # a tie under last_write_wins goes to the server
    ties = outcomes[outcomes["features"].str.contains("equal_updated_at")
                    & (outcomes["strategy"] == "last_write_wins")]
    assert len(ties) and set(ties["conflicts_reported"]) != {0}
    assert all(w in ("server", "-") for w in ties["winner"])
    # B offline: its failed sync is in the history, inside an `offline` window
    assert "offline" in set(result.fault_windows["fault"])

    # The spec column replays a contest exactly: same outcome, same final value.
    row = outcomes.iloc[0]
    replay = await run(params.replace(contests=[json.loads(row["spec"])]))
    again = replay.outcomes.iloc[0]
    assert replay.passed
    assert (again["contest"], again["final_value"], again["winner"]) == (
        row["contest"], row["final_value"], row["winner"])
