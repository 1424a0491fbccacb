"""Seed sweeps on Ray: one study over many seeds (and a grid of parameter values), each run
isolated and bounded, and one report of what failed, how often, and how to replay it.

    spec        seeds, grid cells, every instance's parameters checked up front
    instance    one `syncbench run` in its own process group and temporary folder
    ray_pool    instances as Ray tasks: a local Ray sized to the machine, or a cluster
    report      verdict, failure rate per cell, failing checks with seeds and replays
    page        sweep.html
    progress    the console line per finished instance
    run         `syncbench sweep`: all of the above, the report written as runs finish
"""

from syncbench.sweep.run import SweepOptions, SweepResult, run_sweep

__all__ = ["SweepOptions", "SweepResult", "run_sweep"]
