"""Task creation through the full server vs a bare Starlette POST echo on the same stack.

    python -m benchmarks.create [--repeats 3] [--seconds 5] [--slices 5] [--connections 32]

wrk (C, on its own CPU) drives each: the bare app's POST /echo (baseline), tasksync's
POST /api/v1/noop (all middleware, no storage) and POST /api/v1/tasks (validation, SQLite
commit, change log, idempotency record, WebSocket publish). Target: creates >= 50% of the
bare echo throughput.

Within a repeat the three take turns in `--slices` slices (bare, noop, create, bare, ...),
each getting `--seconds` in all: on a shared machine whose speed drifts over seconds, a
baseline measured seconds apart from its figure would carry that drift into the ratio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmarks.processes import WrkResult, bare_server, run_wrk, tasksync_server
from benchmarks.runner import Figure, arguments, report
from benchmarks.wrk_scripts import post_json
from syncbench.machine import loop_and_other_cpu_seconds
from syncbench.stats import median


@dataclass
class Slices:
    """One variant's wrk slices of a repeat, summed."""

    requests: int = 0
    seconds: float = 0.0
    failed: int = 0
    p99_ms: list[float] = field(default_factory=list)

    def add(self, result: WrkResult) -> None:
        self.requests += result.requests
        self.seconds += result.requests / result.requests_per_s if result.requests_per_s else 0
        self.failed += result.non_2xx + result.socket_errors
        if result.latency_p99_ms is not None:
            self.p99_ms.append(result.latency_p99_ms)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="seconds of load per variant and repeat")
    parser.add_argument("--slices", type=int, default=5, help="turns per variant and repeat")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if args.slices < 1 or args.seconds / args.slices < 1:
        parser.error("--seconds / --slices must be at least 1 (wrk runs whole seconds)")
    slice_s = args.seconds / args.slices
    bare, noop, create = [], [], []
    loop_us, storage_us = [], []  # server CPU per create: event loop, storage thread
    failed = 0
    with bare_server() as bare_url, tasksync_server() as server:
        targets = {"bare": (f"{bare_url}/echo", "/echo"),
                   "noop": (server.base_url, "/api/v1/noop"),
                   "create": (server.base_url, "/api/v1/tasks")}

        def run(name: str, seconds: float) -> WrkResult:
            url, path = targets[name]
            return run_wrk(url, post_json(path), seconds=seconds, connections=args.connections)

        # Warm both (connections, caches, first SQLite pages) before any clock starts.
        run("bare", 1)
        run("create", 1)
        for _ in range(args.repeats):
            totals = {name: Slices() for name in targets}
            cpu = [0.0, 0.0]
            for _ in range(args.slices):
                totals["bare"].add(run("bare", slice_s))
                totals["noop"].add(run("noop", slice_s))
                before = loop_and_other_cpu_seconds(server.pid)
                totals["create"].add(run("create", slice_s))
                after = loop_and_other_cpu_seconds(server.pid)
                cpu = [cpu[0] + after[0] - before[0], cpu[1] + after[1] - before[1]]
            count = max(1, totals["create"].requests)
            loop_us.append(cpu[0] / count * 1e6)
            storage_us.append(cpu[1] / count * 1e6)
            failed += sum(total.failed for total in totals.values())
            bare.append(totals["bare"].rate)
            noop.append(totals["noop"].rate)
            create.append(totals["create"].rate)
            p99 = median(totals["create"].p99_ms) if totals["create"].p99_ms else None
            print(f"  repeat: bare {bare[-1]:.0f}/s, noop {noop[-1]:.0f}/s,"
                  f" create {create[-1]:.0f}/s (p99 {p99} ms; server CPU per create:"
                  f" event loop {loop_us[-1]:.0f} us, storage thread {storage_us[-1]:.0f} us)",
                  flush=True)
    note = (f"{args.connections} connections, {args.seconds:g} s per variant and repeat in"
            f" {args.slices} alternating slices")
    if failed:
        note += f"; {failed} requests failed (non-2xx or socket errors)"
    note += (f"; server CPU per create: event loop {median(loop_us):.0f} us,"
             f" storage thread {median(storage_us):.0f} us (medians)")
    figures = [
        Figure("create throughput (full server)", "req/s", create, "bare POST echo", bare,
               target=0.5, note=note,
               extra={"event_loop_cpu_us_per_create": loop_us,
                      "storage_thread_cpu_us_per_create": storage_us}),
        Figure("noop throughput (all middleware)", "req/s", noop, "bare POST echo", bare),
        Figure("create throughput vs in-stack noop", "req/s", create, "POST /api/v1/noop", noop),
    ]
    report("create", figures, args.out, vars(args) | {"out": str(args.out)})


if __name__ == "__main__":
    main()
