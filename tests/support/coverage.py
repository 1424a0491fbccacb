"""Processes the suite's coverage leaves alone.

`make test` measures lib/tasksync in every Python process the tests start (coverage's
`patch = ["subprocess"]` puts COVERAGE_PROCESS_CONFIG in the environment). Tests of the
workbench's runner, zoo and sweep start dozens of `syncbench run`, kernel and Ray processes
around toy notebooks that never import tasksync: measuring them only slows them (a Ray
sweep test took 75 s measured, 44 s not).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

COVERAGE_VARIABLES = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")


@contextmanager
def unmeasured_subprocesses() -> Iterator[None]:
    """Processes started inside the block are not measured; the environment is as it was
    afterwards."""
    saved = {name: os.environ.pop(name) for name in COVERAGE_VARIABLES if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)
