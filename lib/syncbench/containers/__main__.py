"""`python -m syncbench.containers setup`: a Docker engine (started where we may) and the
images (what `make containers` runs; without an engine: a warning, and set-up goes on);
`build`: only the images; `sweep`: remove our containers whose owner process is gone."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from docker.errors import DockerException
from requests import RequestException

from syncbench.containers.engine import EngineUnavailable, engine, reaper_off, sweep_leftovers
from syncbench.containers.images import ImageBuildFailed, build_images
from syncbench.containers.setup import ensure_debootstrap, ensure_engine


def _say(line: str) -> None:
    print(f"containers: {line}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m syncbench.containers")
    parser.add_argument("command", choices=("setup", "build", "sweep"))
    args = parser.parse_args(argv)
    reaper_off()
    began = time.monotonic()
    try:
        if args.command == "setup":
            problem = ensure_engine(say=_say)
            if problem:
                print(f"warning: no Docker engine: {problem}. The container target is "
                      "unavailable and its tests are skipped, saying so.", file=sys.stderr)
                return 0
            ensure_debootstrap(say=_say)
        with engine(timeout=600) as client:
            removed = sweep_leftovers(client)
            if removed or args.command == "sweep":
                _say(f"removed {len(removed)} leftover container(s)"
                     + (f": {', '.join(removed)}" if removed else ""))
            if args.command != "sweep":
                build_images(client, say=_say)
    except (EngineUnavailable, ImageBuildFailed, OSError, subprocess.CalledProcessError,
            DockerException, RequestException) as exc:
        if args.command != "setup":
            print(f"error: {exc}", file=sys.stderr)
            return 1
        # set-up goes on: the container target is one part of many (its tests then skip,
        # saying the images are missing; under CI they fail)
        print(f"warning: the container target is not ready: {exc}", file=sys.stderr)
        return 0
    if args.command != "sweep":
        _say(f"ready in {time.monotonic() - began:.1f} s")
    return 0

if __name__ == "__main__":
    sys.exit(main())
