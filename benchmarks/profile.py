"""A py-spy profile of the server's create path under wrk load, summarised.

    python -m benchmarks.profile --out outputs/profiles/create.txt [--seconds 8]

Writes py-spy's collapsed stacks (`--out`) and prints where the time went: the share of
samples per thread, and the functions with the largest inclusive and self shares.
Needs py-spy (`pip install py-spy`; root or ptrace permission).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.processes import run_wrk, tasksync_server
from benchmarks.wrk_scripts import post_json


def summarise(collapsed: Path, top: int = 25) -> str:
    """Per-thread shares and the top inclusive/self frames of py-spy's collapsed output."""
    threads: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        threads[frames[0]] += n
        seen = set()
        for frame in frames[1:]:
            name = frame.split(" (")[0] + " " + frame.split("/")[-1].split(":")[0].rstrip(")")
            if name not in seen:
                inclusive[name] += n
                seen.add(name)
        if len(frames) > 1:
            leaf = frames[-1]
            own[leaf.split(" (")[0] + " " + leaf.split("/")[-1].rstrip(")")] += n
    lines = [f"{total} samples"]
    lines += ["threads:"] + [f"  {n / total:6.1%}  {t}" for t, n in threads.most_common()]
    lines += ["inclusive:"] + [f"  {n / total:6.1%}  {f}" for f, n in inclusive.most_common(top)]
    lines += ["self:"] + [f"  {n / total:6.1%}  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tasksync_server() as server:
        run_wrk(server.base_url, post_json("/api/v1/tasks"), seconds=1)
        record = subprocess.Popen(
            [spy, "record", "-p", str(server.pid), "-o", str(args.out), "-f", "raw",
             "-d", f"{args.seconds + 1:g}", "-r", "250", "--threads", "--nonblocking"])
        time.sleep(0.5)
        result = run_wrk(server.base_url, post_json("/api/v1/tasks"), seconds=args.seconds)
        record.wait()
    print(f"create under py-spy: {result.requests_per_s:.0f} req/s (sampling slows it)")
    print(summarise(args.out))


if __name__ == "__main__":
    main()
