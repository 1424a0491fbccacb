"""Performance baselines: creation throughput, batch sync time, WebSocket fan-out, server RSS.

    result = await performance.STUDY.run(PerformanceParams(profiles=("lan", "wan")))
    result.figures        # one row per figure: median, min, max, and ratio to the noop baseline
    report = result.report(output_dir)

How fast is the reference server, and is it getting slower? On a real `tasksync serve` behind
a real Toxiproxy, one phase per network profile (the profile is a `network` fault the Nemesis
keeps on over the whole phase, see conditions.py), the study measures task creation with W
workers, batch sync time by batch size, WebSocket fan-out latency by subscribers, and the
server's RSS under a sustained load. Every figure is a median over repeats with its min..max,
and a ratio to `POST /api/v1/noop` measured next to it (figures.py); the ratios are compared
with the stored baseline params/baselines/performance.json (baseline.py).

    params       PerformanceParams: scenarios, repeats, targets, baseline
    workload     seeded task texts and batch items
    loadgen      bounded closed-loop load with CPU meters on both sides
    conditions   the network condition of each phase, through the Nemesis; replays
    phases       Bench: noop references, creation, batch sync, sustained load
    fanout       WebSocket fan-out runs
    figures      medians, spreads and paired ratios from the raw frames
    baseline     write and load the stored baseline
    checks       targets, regression gate, every op ok, measured under its profile
    analysis     frames, checks and metrics of a run
    experiment   run(params) -> PerformanceResult: stack, phases, heal, quiesce, final reads
    charts       throughput, batch time, fan-out latency, RSS over time
"""

from syncbench.studies.performance import charts
from syncbench.studies.performance.baseline import baseline_figures, load_baseline, write_baseline
from syncbench.studies.performance.checks import (
    all_operations_succeeded,
    batch_target_met,
    creation_target_met,
    measured_under_profile,
    no_regression_vs_baseline,
)
from syncbench.studies.performance.experiment import PerformanceResult, run
from syncbench.studies.performance.figures import (
    FIGURE_COLUMNS,
    GATED_SCENARIOS,
    compute_figures,
    noise_summary,
    ratio_figures,
)
from syncbench.studies.performance.params import DEFAULT_BASELINE, PerformanceParams
from syncbench.studies.performance.workload import batch_items, task_contents
from syncbench.study import Study, register

STUDY = register(Study("performance", PerformanceParams, run, "performance.ipynb",
                       "throughput, batch sync, fan-out and memory against a stored baseline",
                       timed=True))

__all__ = [
    "DEFAULT_BASELINE", "FIGURE_COLUMNS", "GATED_SCENARIOS", "STUDY", "PerformanceParams",
    "PerformanceResult", "all_operations_succeeded", "baseline_figures", "batch_items",
    "batch_target_met", "charts", "compute_figures", "creation_target_met", "load_baseline",
    "measured_under_profile", "no_regression_vs_baseline", "noise_summary", "ratio_figures",
    "run", "task_contents", "write_baseline",
]
