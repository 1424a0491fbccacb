"""Creates per second with one, two and three server replicas on PostgreSQL, against one
server on SQLite in the same run; event delivery latency within a replica and across two.

    python -m benchmarks.replicas [--repeats 3] [--seconds 4] [--connections 32] [--events 300]

wrk drives POST /api/v1/tasks: one wrk per replica, the connections split between them, all
at once (their rates add up), each replica's writes in a repository of its own (writes to
one repository take turns across replicas on its row lock, which keeps its seq gap-free). The deployments take turns within each repeat (sqlite, pg x1,
pg x2, pg x3, ...), so a machine whose speed drifts shifts them alike; every ratio is to
the SQLite server of the same repeat. PostgreSQL runs on this machine (syncbench.postgres:
fsync off, as SQLite's synchronous=NORMAL). Delivery: a writer creates `--events` tasks
through the first replica while one subscriber listens on it and one on the second; latency
is from the event's server timestamp to its arrival (one machine, one clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.processes import WrkResult, run_wrk
from benchmarks.runner import Figure, arguments, report
from benchmarks.wrk_scripts import post_json
from syncbench.postgres import LocalPostgres
from syncbench.server_process import TasksyncProcess
from syncbench.stats import median, percentile
from syncbench.studies.performance.deployments import delivery_latencies

REPLICAS = (1, 2, 3)




@contextlib.contextmanager
def deployment(workdir: Path, store: str, replicas: int) -> Iterator[list[TasksyncProcess]]:
    """`replicas` fresh servers on `store` ("sqlite", or a PostgreSQL URL)."""
    servers = [TasksyncProcess(workdir, "--rate-limit", "0", "--store", store,
                               name=f"{Path(workdir).name}-{index}")
               for index in range(replicas)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def creates_per_second(servers: list[TasksyncProcess], seconds: float,
                       connections: int) -> tuple[float, int]:
    """Every server under its share of the connections at once: total rate, failures."""
    share = max(1, connections // len(servers))
    with ThreadPoolExecutor(len(servers)) as pool:
        # a repository per replica: one repository's writes take turns on its row lock
        # across replicas (its seq), so shared repositories would measure that lock
        results: list[WrkResult] = list(pool.map(
            lambda indexed: run_wrk(indexed[1].base_url, post_json(
                "/api/v1/tasks", repository=f"bench-{indexed[0]}"), seconds=seconds,
                connections=share), enumerate(servers)))
    return (sum(result.requests_per_s for result in results),
            sum(result.non_2xx + result.socket_errors for result in results))


async def delivery_ms(servers: list[TasksyncProcess], events: int) -> dict[str, list[float]]:
    """Live delivery latencies (ms) of a subscriber on the writer's replica and on another."""
    rows = await delivery_latencies([server.base_url for server in servers], events)
    latencies: dict[str, list[float]] = {"same replica": [], "cross replica": []}
    for row in rows:
        latencies[row["path"]].append(row["latency_ms"])
    if min(map(len, latencies.values())) < events:
        raise SystemExit(f"deliveries stopped short: {[len(v) for v in latencies.values()]}"
                         f" of {events}")
    return latencies


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds of load per "
                        "deployment and repeat")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--events", type=int, default=300, help="events for the delivery "
                        "latency (per subscriber)")
    args = parser.parse_args()
    if args.seconds < 1 or args.repeats < 1 or args.events < 1:
        parser.error("--seconds (whole seconds for wrk), --repeats and --events must be >= 1")
    rates: dict[str, list[float]] = {"sqlite": [], **{f"pg x{n}": [] for n in REPLICAS}}
    failed = 0
    with LocalPostgres() as database, tempfile.TemporaryDirectory(prefix="bench-") as root:
        where = database.url()
        for repeat in range(args.repeats):
            for name in rates:
                workdir = Path(root) / f"r{repeat}-{name.replace(' ', '')}"
                workdir.mkdir()
                store = "sqlite" if name == "sqlite" else database.create_database(
                    f"bench_{repeat}_{name[-1]}")
                replicas = 1 if name == "sqlite" else int(name[-1])
                with deployment(workdir, store, replicas) as servers:
                    creates_per_second(servers, 1, args.connections)  # warm
                    rate, errors = creates_per_second(servers, args.seconds, args.connections)
                rates[name].append(rate)
                failed += errors
            print(f"  repeat {repeat + 1}: " + ", ".join(
                f"{name} {values[-1]:.0f}/s" for name, values in rates.items()), flush=True)
        workdir = Path(root) / "delivery"
        workdir.mkdir()
        with deployment(workdir, database.create_database("bench_delivery"), 2) as servers:
            latencies = asyncio.run(delivery_ms(servers, args.events))
    note = (f"{args.connections} connections split over the replicas, {args.seconds:g} s "
            f"per deployment and repeat, taking turns; PostgreSQL at {where} (fsync off)")
    if failed:
        note += f"; {failed} requests failed (non-2xx or socket errors)"
    figures = [Figure(f"creates/s, {name} on PostgreSQL", "req/s", rates[name],
                      "one server on SQLite", rates["sqlite"], note=note)
               for name in rates if name != "sqlite"]
    same, cross = latencies["same replica"], latencies["cross replica"]
    for label, q in (("p50", 50), ("p99", 99)):
        figures.append(Figure(
            f"delivery {label}, cross replica", "ms", [percentile(cross, q)], "same replica",
            [percentile(same, q)], higher_is_better=False,
            note=f"{args.events} events written through replica 1; subscribers on replica 1 "
                 f"and replica 2 (median of same {median(same):.1f} ms)"))
    report("replicas", figures, args.out, vars(args) | {"out": str(args.out)})


if __name__ == "__main__":
    main()
