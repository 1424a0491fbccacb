"""The conflicts study: every conflict scenario against every resolution strategy.

Each (scenario, strategy) cell runs in its own repository, with two real Replicas ("A" and
"B", each through its own Toxiproxy group) and, for the original plan's case, a third
BatchClient ("C"). Side A's change reaches the server first; side B's change is the
contested push. What the server should do with that push is computed independently by a
small reference model of PROTOCOL.md's batch rules (`expected_batch`) from what B actually
sent, so every cell has an expected winner and final value to hold the server to.

A second part sweeps the server's clock under last_write_wins: an "honest" replica edits a
task offline while another writes it through the server, whose real wall clock is off by
the trial's skew (the `clock` fault: libfaketime in the unmodified server), a random
real-time gap apart; the sweep records whether the write made later in real time survived.

A third part plays generated contests (`generated_contests`, from the seed; `generator`):
two or three replicas edit one task concurrently, random fields on each side (the same
field to the same or different values, different fields, delete against edit or delete, a
create under the same client-chosen id), a random strategy, sometimes B offline for several
edits or two contenders pushing at once, and boundaries on purpose: an `updated_at` equal to
the server's (a last_write_wins tie, pinned through the replica's clock), the maximal
content and task id. The same model judges them from what was actually pushed (pushes made
at once: the serial order that explains the server's outcome), so the same checks apply.
Each contest's spec is in the outcomes frame (`spec`, with `features` and `push_order`);
the `contests` parameter runs exactly the given specs (replay, shrinking). `workload`
picks "nominal" (matrix and sweep), "generated" or "both" (the default).

Faults go through the Nemesis and are recorded in the History: B cut off (`offline`) in
long_offline_edit and in offline contests, B's clock skewed (`client_clock`, this package's fault kind) in the clock_skew_*
scenarios and the sweep. A `schedule` parameter replaces them (see `phases`).

    params/workload  what a run does, the seeded cells and trials
    model            the reference model of a contested batch
    records          reading tasks and conflicts; each side's change
    clock            the `client_clock` fault kind (a client's clock off by skew_s)
    phases           the run's state: replicas, recorded syncs, fault slots, heal/quiesce/reads
    contest          base, tracked writes, the contested push, manual resolution
    scenarios        the nine scenarios and run_cell
    generator        generated contest specs: made from the seed, checked, described
    play             playing one contest spec on the stack (run_contest)
    sweep            the last_write_wins clock-skew trials
    checks           expected_conflicts_reported, winner_matches_strategy,
                     no_silently_lost_changes
    analysis         frames, checks and metrics from the records and final reads
    charts           outcome heatmap (matrix, or `contest_grid` of the contests), LWW skew
                     chart
    run              run(params)

    result = await run(ConflictParams(seed=1))
    result.outcomes            # scenario, strategy, conflicts, winner, final, expected, lost,
                               # workload, contest, features, push_order, spec
    await run(ConflictParams(workload="generated", contests=[json.loads(spec)]))  # replay
    report = result.report(output_dir)

Checks: conflicts_reported_once and convergence (syncbench.checks; a third replica compared
on its own repositories),
expected_conflicts_reported, winner_matches_strategy, no_silently_lost_changes (`checks`).
"""

from syncbench.studies.conflicts import clock as _clock  # noqa: F401  (registers `clock`)
from syncbench.studies.conflicts.analysis import contest_grid, outcome_label, skew_summary
from syncbench.studies.conflicts.charts import lww_skew_chart, outcome_heatmap
from syncbench.studies.conflicts.checks import (
    expected_conflicts_reported,
    no_silently_lost_changes,
    winner_matches_strategy,
)
from syncbench.studies.conflicts.generator import FEATURES, check_contest, generate_contests
from syncbench.studies.conflicts.model import (
    BatchExpectation,
    ModelItem,
    expected_batch,
    three_way_merge,
)
from syncbench.studies.conflicts.params import SCENARIOS, WORKLOADS, ConflictParams
from syncbench.studies.conflicts.records import Side, describe, short_label
from syncbench.studies.conflicts.run import run
from syncbench.studies.conflicts.workload import Cell, SkewTrial, Workload, plan_workload
from syncbench.study import Study, register

STUDY = register(Study("conflicts", ConflictParams, run, "conflicts.ipynb",
                       "every conflict scenario against every resolution strategy, "
                       "generated contests with boundaries on purpose, "
                       "and last_write_wins under clock skew"))

__all__ = [
    "FEATURES", "SCENARIOS", "STUDY", "WORKLOADS", "BatchExpectation", "Cell", "ConflictParams",
    "ModelItem", "Side", "SkewTrial", "Workload", "check_contest", "contest_grid", "describe",
    "expected_batch", "expected_conflicts_reported", "generate_contests",
    "lww_skew_chart", "no_silently_lost_changes", "outcome_heatmap", "outcome_label",
    "plan_workload", "run", "short_label", "skew_summary", "three_way_merge",
    "winner_matches_strategy",
]
