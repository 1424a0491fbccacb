"""Small hand-made frames of the performance study, shaped as a run records them."""

from __future__ import annotations

import pandas as pd

from syncbench.studies.performance import compute_figures


def creation_frame(elapsed_create: list[float], elapsed_noop: list[float],
                   requested: int = 1000, failed: int = 0, profile: str = "lan",
                   workers: int = 10) -> pd.DataFrame:
    rows = []
    for repeat, (create, noop) in enumerate(zip(elapsed_create, elapsed_noop, strict=True)):
        for kind, elapsed in (("create", create), ("noop", noop)):
            rows.append({
                "profile": profile, "workers": workers, "repeat": repeat, "kind": kind,
                "requested": requested, "failed": failed if kind == "create" else 0,
                "elapsed_s": elapsed, "throughput_per_s": requested / elapsed,
                "client_cpu_share": 0.3, "server_cpu_share": 0.5,
            })
    return pd.DataFrame(rows)


def batch_frame(sizes_times: dict[int, list[float]], profile: str = "lan",
                ok: bool = True) -> pd.DataFrame:
    return pd.DataFrame([
        {"profile": profile, "size": size, "repeat": r, "elapsed_s": t, "noop_ms": 2.0,
         "ratio": t * 500, "created": size, "ok": ok}
        for size, times in sizes_times.items()
        for r, t in enumerate(times)
    ])


def fanout_frame() -> pd.DataFrame:
    return pd.DataFrame([
        {"profile": "lan", "subscribers": n, "repeat": r, "noop_ms": 2.0,
         "p50_ms": 3.0 * n / 10 + r, "p90_ms": 5.0 * n / 10, "p99_ms": 9.0 * n / 10}
        for n in (10, 100)
        for r in range(3)
    ])


def memory_runs() -> pd.DataFrame:
    return pd.DataFrame([{"profile": "lan", "rss_before_mib": 50.0, "rss_peak_mib": 60.0,
                          "client_cpu_share": 0.2}])


def figures() -> pd.DataFrame:
    return compute_figures(
        creation_frame([2.0, 2.2, 2.4], [1.0, 1.0, 1.2]),
        batch_frame({100: [0.01, 0.012, 0.011], 1000: [0.1, 0.12, 0.08]}),
        fanout_frame(),
        memory_runs(),
    )
