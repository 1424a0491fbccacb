"""Unit tests of tasksync.client."""
