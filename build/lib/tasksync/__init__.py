"""tasksync: the reference bidirectional task-sync system that syncbench studies."""

__version__ = "0.1.0"
