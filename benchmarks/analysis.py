"""The analysis scales: recording cost per operation, and every check, fault_windows and
History's frame and file I/O at 10k, 100k and 1,000,000 operations.

    python -m benchmarks.analysis [--repeats 3] [--sizes 10000,100000,1000000]

Recording: `async with history.record(...) as op: op.note(...)` per operation into a fresh
History of `--record-ops` operations, against an empty async context manager (same loop,
same `op.note` call) in the same repeat; the figure is the added cost, target under 5 us.
Garbage collection stays on: a history that keeps every operation makes the collector
walk them, and a run pays that too. Times are CPU seconds of this process (process_time):
the work is CPU-bound, and wall time on a shared machine measures the neighbours as well.

Analysis: a synthetic run per size (benchmarks.synthetic_history: many clients, creates,
updates and deletes with ok/fail/info outcomes and retries, a few hot tasks, nemesis
start/stop, WebSocket deliveries, conflicts, breaker transitions, final server and replica
states). Each step is timed per repeat. Linearity: a step's time per operation grows from
the smallest size to the largest by some factor; so does that of one bare linear pass over
the same history (caches and memory: at 1M nothing fits in them). The figure is the step's
growth, its baseline the bare pass's, target ratio <= 2 (a per-item scan of the history
would give ~100). Then, for the largest size: every check, fault_windows, to_frame and a
save + load (JSON lines, the default format; CSV is measured but not counted) together
under 30 s; 1M operations re-analysed under 2 GiB: the peak RSS of re-analysing a saved run
as a reviewer does (the run's other data in memory, its History loaded from the saved JSON
lines, then every check, fault_windows and to_frame; the peak counted from just before the
load, through /proc/self/clear_refs), with the whole benchmark process's peak (which also
holds the generator's structures, the cached frame and a second loaded History at once)
reported beside it without a target; checks fed
the `to_frame` DataFrame within 3x of the same check fed the History (the frame's
Operations are rebuilt column by column). Peak memory per step is measured in a separate
pass with tracemalloc (Python allocations above what the step started with).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.runner import Figure, arguments, report
from benchmarks.synthetic_history import SyntheticRun, synthetic_run
from syncbench import checks
from syncbench.history import History
from syncbench.nemesis import fault_windows

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
# Every figure here is this process's CPU time: the work is CPU-bound and single-threaded,
# and on a machine shared with other jobs wall time mostly measures the neighbours.
_cpu = time.process_time
RECORD_TARGET_US = 5.0
LINEAR_TARGET = 2.0
TOTAL_TARGET_S = 30.0
RSS_TARGET_MIB = 2048.0
FRAME_TARGET = 3.0


class _Empty:
    """The baseline: an async context manager that does nothing, with a `note` like OpHandle."""

    async def __aenter__(self) -> _Empty:
        return self

    async def __aexit__(self, *exc: Any) -> bool:
        return False

    def note(self, **values: Any) -> None:
        pass


async def _record_once(count: int) -> tuple[float, float]:
    """(record + note, empty async with + note) seconds per operation, `count` of each."""
    history = History()
    clients = [f"client-{n}" for n in range(16)]
    started = _cpu()
    for n in range(count):
        async with history.record(clients[n & 15], "create", task_id="t", content="k") as op:
            op.note(version=1, seq=n)
    recorded = (_cpu() - started) / count
    empty = _Empty()
    started = _cpu()
    for n in range(count):
        async with empty as op:
            op.note(version=1, seq=n)
    bare = (_cpu() - started) / count
    assert len(history) == count
    return recorded, bare


def recording_figure(repeats: int, count: int) -> Figure:
    added, bare, absolute = [], [], []
    for _ in range(repeats):
        recorded, empty = asyncio.run(_record_once(count))
        added.append((recorded - empty) * 1e6)
        bare.append(empty * 1e6)
        absolute.append(recorded * 1e6)
        print(f"  record: {recorded * 1e6:.2f} us/op, empty async with {empty * 1e6:.2f} us/op",
              flush=True)
    return Figure("history.record + op.note, added per op", "us", added,
                  "empty async with + note", bare, target=RECORD_TARGET_US, target_on="value",
                  target_op="<=", higher_is_better=False,
                  note=f"{count:,} operations per repeat into a fresh History, GC on; "
                       f"absolute {statistics.median(absolute):.2f} us/op",
                  extra={"absolute_us": absolute, "operations": count})


def steps(run: SyntheticRun, workdir: Path) -> dict[str, Callable[[], Any]]:
    """Every analysis step over `run`, by name (each returns what it computed)."""
    history = run.history
    frame_holder: dict[str, Any] = {}

    def frame() -> Any:
        if "frame" not in frame_holder:
            frame_holder["frame"] = history.to_frame()
        return frame_holder["frame"]

    jsonl, csv_path = workdir / "history.jsonl", workdir / "history.csv"
    return {
        "convergence": lambda: checks.convergence(run.states),
        "no_lost_acknowledged_writes": lambda: checks.no_lost_acknowledged_writes(
            history, run.server_tasks),
        "no_duplicates_from_retries": lambda: checks.no_duplicates_from_retries(
            history, run.server_tasks),
        "subscribers_saw_every_event": lambda: checks.subscribers_saw_every_event(
            run.deliveries, run.change_log, subscriptions=run.subscriptions),
        "conflicts_reported_once": lambda: checks.conflicts_reported_once(
            run.conflicts, run.conflict_log),
        "breaker_followed_state_machine": lambda: checks.breaker_followed_state_machine(
            run.transitions),
        "fault_windows": lambda: fault_windows(history),
        "History.to_frame": history.to_frame,
        "History.save (jsonl)": lambda: history.save(jsonl),
        "History.load (jsonl)": lambda: History.load(jsonl),
        "History.save (csv)": lambda: history.save(csv_path),
        "History.load (csv)": lambda: History.load(csv_path),
        SCAN: lambda: _scan(history),
        "no_lost_acknowledged_writes fed the frame": lambda: checks.no_lost_acknowledged_writes(
            frame(), run.server_tasks),
        "no_duplicates_from_retries fed the frame": lambda: checks.no_duplicates_from_retries(
            frame(), run.server_tasks),
    }


def _scan(history: History) -> dict[Any, int]:
    """The baseline of linearity: one pass over the operations counting them per task id
    (what any linear check does at least: touch each operation, its args and a dict)."""
    counts: dict[Any, int] = {}
    for op in history.operations:
        key = op.args.get("task_id")
        counts[key] = counts.get(key, 0) + 1
    return counts


SCAN = "one pass counting operations per task id"
# Not counted in the analysis total: a run saves (and a reader loads) one format, the
# default JSON lines; the CSV pair is measured for its linearity.
NOT_COUNTED = {SCAN, "History.save (csv)", "History.load (csv)"}
FRAME_PAIRS = {"no_lost_acknowledged_writes fed the frame": "no_lost_acknowledged_writes",
               "no_duplicates_from_retries fed the frame": "no_duplicates_from_retries"}


def _check_passed(name: str, result: Any) -> None:
    passed = getattr(result, "passed", True)
    if not passed:
        raise SystemExit(f"{name} failed on the synthetic run (a generator bug): "
                         f"{result.observed}")


def measure_size(size: int, repeats: int) -> dict[str, Any]:
    """CPU seconds per repeat of every step at `size` operations, the process's peak RSS
    over them, then (separately: tracemalloc slows and bloats what it traces) each step's
    tracemalloc peak."""
    rss_before = _rss_mib()
    started = _cpu()
    run = synthetic_run(size, seed=1)
    built = _cpu() - started
    rss_built = _rss_mib()
    operations = run.counts["operations"]
    print(f"  {operations:,} operations ({run.counts}), built in {built:.1f} s,"
          f" RSS {rss_before:.0f} -> {rss_built:.0f} MiB", flush=True)
    times: dict[str, list[float]] = {}
    peaks: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as workdir:
        named = steps(run, Path(workdir))
        for name, step in named.items():
            if name in FRAME_PAIRS:
                step()  # the first one builds the frame they share, untimed
            samples = []
            for _ in range(repeats):
                gc.collect()
                began = _cpu()
                result = step()
                samples.append(_cpu() - began)
                _check_passed(name, result)
                del result
            times[name] = samples
        max_rss = _max_rss_mib()
        for name, step in named.items():
            gc.collect()
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            result = step()
            peaks[name] = (tracemalloc.get_traced_memory()[1] - base) / 2**20
            tracemalloc.stop()
            del result
            median = statistics.median(times[name])
            print(f"    {name:<44} {median:8.3f} s ({median / operations * 1e6:6.2f} us/op),"
                  f" peak +{peaks[name]:.0f} MiB", flush=True)
    print(f"    peak RSS {max_rss:.0f} MiB (the run's data {rss_built - rss_before:.0f} MiB)",
          flush=True)
    return {"operations": operations, "counts": run.counts, "build_s": built, "times": times,
            "peak_mib": peaks, "max_rss_mib": max_rss, "rss_built_mib": rss_built,
            "rss_before_mib": rss_before}


def reanalysis_rss(size: int) -> dict[str, float]:
    """Peak RSS (MiB) re-analysing a saved run of `size` operations (see the docstring)."""
    run = synthetic_run(size, seed=1)
    with tempfile.TemporaryDirectory() as workdir:
        saved = Path(workdir) / "history.jsonl"
        run.history.save(saved)
        run = dataclasses.replace(run, history=History())
        gc.collect()
        _reset_peak_rss()
        before = _rss_mib()
        run = dataclasses.replace(run, history=History.load(saved))
        loaded = _rss_mib()
        for name, step in steps(run, Path(workdir)).items():
            if name in REANALYSIS_STEPS:
                result = step()
                _check_passed(name, result)
                del result
        return {"before_mib": before, "loaded_mib": loaded, "peak_mib": _peak_rss_mib()}


def reanalysis_in_a_fresh_process(size: int) -> dict[str, float]:
    """`reanalysis_rss(size)` in a new interpreter: what this process freed but still holds
    must not count."""
    code = ("import json; from benchmarks.analysis import reanalysis_rss; "
            f"print(json.dumps(reanalysis_rss({int(size)})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[1], timeout=1800)
    return json.loads(done.stdout.strip().splitlines()[-1])


# what a reviewer runs over a loaded history: the checks, the windows and the frame
REANALYSIS_STEPS = ("convergence", "no_lost_acknowledged_writes", "no_duplicates_from_retries",
                    "subscribers_saw_every_event", "conflicts_reported_once",
                    "breaker_followed_state_machine", "fault_windows", "History.to_frame")


def _reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM, the peak resident set


def _peak_rss_mib() -> float:
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\s+(\d+)", status.read()).group(1)) / 1024


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def analysis_figures(results: list[dict[str, Any]]) -> list[Figure]:
    small, large = results[0], results[-1]
    grow = large["operations"] / small["operations"]
    figures = []

    def growth(name: str) -> list[float]:
        """Per repeat: us/op at the largest size over the median us/op at the smallest."""
        at_small = statistics.median(small["times"][name]) / small["operations"]
        return [t / large["operations"] / at_small for t in large["times"][name]]

    scan = growth(SCAN)
    for name in large["times"]:
        if name == SCAN:
            continue
        note = "; ".join(
            f"{r['operations']:,}: {statistics.median(r['times'][name]):.3f} s"
            f" ({statistics.median(r['times'][name]) / r['operations'] * 1e6:.2f} us/op),"
            f" peak +{r['peak_mib'][name]:.0f} MiB" for r in results)
        figures.append(Figure(
            f"{name}: us/op growth x{grow:g} ops", "x", growth(name),
            "the same growth of one linear pass", scan, target=LINEAR_TARGET,
            target_on="ratio", target_op="<=", higher_is_better=False, note=note))
    for framed, plain_name in FRAME_PAIRS.items():
        figures.append(Figure(
            f"{framed} at {large['operations']:,}", "s", large["times"][framed],
            "fed the History", large["times"][plain_name], target=FRAME_TARGET,
            target_on="ratio", target_op="<=", higher_is_better=False))
    counted = [name for name in large["times"]
               if name not in FRAME_PAIRS and name not in NOT_COUNTED]
    total = [sum(large["times"][name][i] for name in counted)
             for i in range(len(large["times"][counted[0]]))]
    scaled = [sum(small["times"][name][i] for name in counted) * grow
              for i in range(len(small["times"][counted[0]]))]
    figures.append(Figure(
        f"every check, fault_windows, to_frame, save, load at {large['operations']:,}", "s",
        total, f"{small['operations']:,} scaled linearly", scaled, target=TOTAL_TARGET_S,
        target_on="value", target_op="<=", higher_is_better=False,
        note=f"steps: {', '.join(counted)}"))
    figures.append(Figure(
        f"peak RSS of this benchmark at {large['operations']:,} operations", "MiB",
        [large["max_rss_mib"]], "RSS holding the synthetic run", [large["rss_built_mib"]],
        note=f"RSS {large['rss_before_mib']:.0f} MiB before building the run; its data (history,"
             " three holders' final states, deliveries), the generator's structures, then each"
             " step once per repeat (the cached frame and a second loaded History included)"))
    if "reanalysis" in large:
        again = large["reanalysis"]
        figures.append(Figure(
            f"peak RSS, a saved run of {large['operations']:,} operations re-analysed", "MiB",
            [again["peak_mib"]], "RSS before loading its History", [again["before_mib"]],
            target=RSS_TARGET_MIB, target_on="value", target_op="<=", higher_is_better=False,
            note=f"the run's other data in memory ({again['before_mib']:.0f} MiB), its History "
                 f"loaded from JSON lines ({again['loaded_mib']:.0f} MiB after), then "
                 f"{', '.join(REANALYSIS_STEPS)}"))
    return figures


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES),
                        help="comma-separated operation counts, smallest first")
    parser.add_argument("--record-ops", type=int, default=100_000,
                        help="operations recorded per repeat for the recording figure")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    figures = [recording_figure(args.repeats, args.record_ops)]
    results = []
    for size in sizes:
        results.append(measure_size(size, args.repeats))
    results[-1]["reanalysis"] = reanalysis_in_a_fresh_process(sizes[-1])
    print(f"  a saved run of {sizes[-1]:,} operations re-analysed: peak RSS "
          f"{results[-1]['reanalysis']['peak_mib']:.0f} MiB", flush=True)
    figures += analysis_figures(results)
    report("analysis", figures, args.out, vars(args) | {
        "out": str(args.out), "sizes": sizes,
        "counts": {r["operations"]: r["counts"] for r in results}})


if __name__ == "__main__":
    main()
