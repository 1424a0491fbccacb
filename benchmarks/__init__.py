"""Benchmarks of tasksync against bare baselines measured on the same machine in the same run.

Each module is one benchmark, run as `python -m benchmarks.<name>` from the repository root
(`make bench` runs them all). Every figure is printed as median, min, max over repeats and
as a ratio to its baseline, and written as JSON (see benchmarks.runner).
"""
