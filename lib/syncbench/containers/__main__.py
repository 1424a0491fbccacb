"""`python -m syncbench.containers build`: build the container target's images (make images);
`python -m syncbench.containers sweep`: remove our containers whose owner process is gone."""

from __future__ import annotations

import argparse
import sys

from syncbench.containers.engine import EngineUnavailable, engine, reaper_off, sweep_leftovers
from syncbench.containers.images import ImageBuildFailed, build_images


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m syncbench.containers")
    parser.add_argument("command", choices=("build", "sweep"))
    args = parser.parse_args(argv)
    reaper_off()
    try:
        with engine(timeout=600) as client:
            if args.command == "sweep":
                removed = sweep_leftovers(client)
                print(f"removed {len(removed)} leftover container(s)"
                      + (f": {', '.join(removed)}" if removed else ""))
                return 0
            build_images(client, say=lambda line: print(line, flush=True))
    except (EngineUnavailable, ImageBuildFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
