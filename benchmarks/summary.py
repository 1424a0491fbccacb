"""Every figure of one benchmark run in one table, and how many targets it met.

    python -m benchmarks.summary outputs/bench/<run-id> [--save params/baselines]

`make bench` ends with this. `--save DIR` also copies each result to DIR/bench-<name>.json,
the committed reference run (each file carries its machine description).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from benchmarks.runner import print_summaries


def load_run(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The results in `run_dir` by benchmark name; SystemExit naming the problem if none."""
    if not run_dir.is_dir():
        raise SystemExit(f"{run_dir} is not a directory of benchmark results;"
                         " run `make bench` and pass the directory it names")
    results = {}
    for path in sorted(run_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path} is not valid JSON ({exc}); rerun that benchmark") from exc
        if not isinstance(data, dict) or "figures" not in data or "benchmark" not in data:
            print(f"(skipping {path}: not a benchmark result)", file=sys.stderr)
            continue
        data["path"] = str(path)
        results[data["benchmark"]] = data
    if not results:
        raise SystemExit(f"no benchmark results (*.json) in {run_dir}; run `make bench`")
    return results


def targets_met(results: dict[str, dict[str, Any]]) -> tuple[int, int, list[str]]:
    """(met, with a target, names of the figures that missed theirs)."""
    checked = [(f"{name}: {figure['name']}", figure["met"])
               for name, data in results.items() for figure in data["figures"]
               if figure["met"] is not None]
    missed = [label for label, met in checked if not met]
    return len(checked) - len(missed), len(checked), missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="outputs/bench/<run-id>")
    parser.add_argument("--save", type=Path, default=None,
                        help="also copy the results here as bench-<name>.json")
    args = parser.parse_args(argv)
    results = load_run(args.run_dir)
    for name, data in results.items():
        print_summaries(name, data["figures"])
    met, total, missed = targets_met(results)
    machine = next(iter(results.values())).get("machine", {})
    print(f"\ntargets met: {met} of {total}"
          f" (on {machine.get('cpu_count', '?')} CPUs, {machine.get('cpu_model', '?')})")
    for label in missed:
        print(f"  not met: {label}")
    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
        for name, data in results.items():
            shutil.copyfile(data["path"], args.save / f"bench-{name}.json")
        print(f"saved {len(results)} results to {args.save}/bench-<name>.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
