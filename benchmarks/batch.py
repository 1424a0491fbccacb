"""Batch sync of 10,000 new tasks, and of 10,000 tasks of which half conflict.

    python -m benchmarks.batch [--repeats 3] [--size 10000]

Each figure is the wall time of one POST /api/v1/sync/batch on loopback (pull_limit 0: the
push alone), an upper bound of the server time. Baselines, measured in the same run with
Python's sqlite3 on a WAL file like the server's: inserting the same number of rows in one
transaction, and an upsert with a version check of that many rows.
Targets: new tasks under 0.5 s; half conflicting under 1 s.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import msgspec

from benchmarks.processes import pin_self_to_load_cpu, tasksync_server
from benchmarks.runner import Figure, arguments, report


def _items(prefix: str, size: int, content: str, base_version: int = 0,
           only: range | None = None) -> list[dict]:
    return [
        {"change_id": f"{prefix}:{content}:{n}", "task_id": f"{prefix}-{n}",
         "task": {"content": f"{content} {n} " + "x" * 60, "priority": "medium"},
         "base_version": base_version, "updated_at": "2026-01-01T00:00:00Z"}
        for n in (only if only is not None else range(size))
    ]


def _sync(http: httpx.Client, repository: str, client_id: str, items: list[dict]) -> float:
    body = msgspec.json.encode({"repository": repository, "client_id": client_id,
                                "items": items, "pull_limit": 0})
    started = time.perf_counter()
    response = http.post("/api/v1/sync/batch", content=body, headers={
        "Content-Type": "application/json", "X-Client-ID": client_id,
        "Idempotency-Key": uuid.uuid4().hex})
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def sqlite_baselines(size: int) -> tuple[float, float]:
    """(insert `size` rows in one transaction, upsert them with a version check), seconds."""
    with tempfile.TemporaryDirectory() as workdir:
        db = sqlite3.connect(Path(workdir) / "raw.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, content TEXT, version INTEGER)")
        rows = [(f"task-{n}", f"content {n} " + "x" * 60, 1) for n in range(size)]
        started = time.perf_counter()
        db.execute("BEGIN")
        db.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
        db.execute("COMMIT")
        insert = time.perf_counter() - started
        updates = [(f"task-{n}", f"changed {n}", 2) for n in range(size)]
        started = time.perf_counter()
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO t VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " content = excluded.content, version = excluded.version"
            " WHERE t.version < excluded.version", updates)
        db.execute("COMMIT")
        upsert = time.perf_counter() - started
        db.close()
    return insert, upsert


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    args = parser.parse_args()
    pin_self_to_load_cpu()
    size = args.size
    new, conflict, raw_insert, raw_upsert, outcomes = [], [], [], [], {}
    with tasksync_server() as server, httpx.Client(base_url=server.base_url, timeout=60) as http:
        _sync(http, "warm", "a", _items("warm", 100, "warm"))
        for repeat in range(args.repeats):
            repository = f"batch-{repeat}"
            new.append(_sync(http, repository, "writer-a", _items(repository, size, "new")))
            # Half the tasks move on at the server (writer A), then writer B pushes edits of
            # all of them built on version 1: those half conflict, the other half apply.
            _sync(http, repository, "writer-a",
                  _items(repository, size, "server-edit", 1, range(0, size, 2)))
            conflict.append(_sync(http, repository, "writer-b",
                                  _items(repository, size, "client-edit", 1)))
            insert, upsert = sqlite_baselines(size)
            raw_insert.append(insert)
            raw_upsert.append(upsert)
            print(f"  repeat: new {new[-1] * 1000:.0f} ms, half conflicting"
                  f" {conflict[-1] * 1000:.0f} ms; sqlite insert {insert * 1000:.0f} ms,"
                  f" upsert {upsert * 1000:.0f} ms", flush=True)
        conflicts = http.get("/api/v1/repositories/batch-0/conflicts", params={"limit": 10000})
        outcomes["conflicts_recorded_repeat_0"] = len(conflicts.json()["conflicts"])
    figures = [
        Figure(f"batch sync, {size} new tasks", "s", new, "sqlite insert in 1 txn", raw_insert,
               target=0.5, target_on="value", target_op="<=", higher_is_better=False),
        Figure(f"batch sync, {size} tasks, half conflicting", "s", conflict,
               "sqlite upsert w/ version check", raw_upsert, target=1.0, target_on="value",
               target_op="<=", higher_is_better=False, extra=outcomes),
    ]
    report("batch", figures, args.out, vars(args) | {"out": str(args.out)})


if __name__ == "__main__":
    main()
