"""syncbench: the workbench that studies tasksync under real network faults."""

__version__ = "0.1.0"
