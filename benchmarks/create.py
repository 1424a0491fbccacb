"""Task creation through the full server vs a bare Starlette POST echo on the same stack.

    python -m benchmarks.create [--repeats 3] [--seconds 5] [--connections 32]

wrk (C, on its own CPU) drives each: the bare app's POST /echo (baseline), tasksync's
POST /api/v1/noop (all middleware, no storage) and POST /api/v1/tasks (validation, SQLite
commit, change log, idempotency record, WebSocket publish). Target: creates >= 50% of the
bare echo throughput.
"""

from __future__ import annotations

import statistics

from benchmarks.processes import bare_server, loop_and_other_cpu_seconds, run_wrk, tasksync_server
from benchmarks.runner import Figure, arguments, report
from benchmarks.wrk_scripts import post_json


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    bare, noop, create = [], [], []
    loop_us, storage_us = [], []  # server CPU per create: event loop, storage thread
    failed = 0
    with bare_server() as bare_url, tasksync_server() as server:
        # Warm both (connections, caches, first SQLite pages) before any clock starts.
        run_wrk(f"{bare_url}/echo", post_json("/echo"), seconds=1, connections=args.connections)
        run_wrk(server.base_url, post_json("/api/v1/tasks"), seconds=1,
                connections=args.connections)
        for _ in range(args.repeats):
            results = {
                "bare": run_wrk(f"{bare_url}/echo", post_json("/echo"), seconds=args.seconds,
                                connections=args.connections),
                "noop": run_wrk(server.base_url, post_json("/api/v1/noop"),
                                seconds=args.seconds, connections=args.connections),
            }
            before = loop_and_other_cpu_seconds(server.pid)
            results["create"] = run_wrk(server.base_url, post_json("/api/v1/tasks"),
                                        seconds=args.seconds, connections=args.connections)
            after = loop_and_other_cpu_seconds(server.pid)
            count = max(1, results["create"].requests)
            loop_us.append((after[0] - before[0]) / count * 1e6)
            storage_us.append((after[1] - before[1]) / count * 1e6)
            failed += sum(r.non_2xx + r.socket_errors for r in results.values())
            bare.append(results["bare"].requests_per_s)
            noop.append(results["noop"].requests_per_s)
            create.append(results["create"].requests_per_s)
            print(f"  repeat: bare {bare[-1]:.0f}/s, noop {noop[-1]:.0f}/s,"
                  f" create {create[-1]:.0f}/s (p99 {results['create'].latency_p99_ms} ms;"
                  f" server CPU per create: event loop {loop_us[-1]:.0f} us, storage thread"
                  f" {storage_us[-1]:.0f} us)", flush=True)
    note = f"{args.connections} connections, {args.seconds:g} s per run"
    if failed:
        note += f"; {failed} requests failed (non-2xx or socket errors)"
    note += (f"; server CPU per create: event loop {statistics.median(loop_us):.0f} us,"
             f" storage thread {statistics.median(storage_us):.0f} us (medians)")
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
