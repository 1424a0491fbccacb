"""Which store a --store value names, and the line that says so (no secrets in it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasksync.store.opening import describe_store, is_store


def test_every_store_value_says_in_one_line_where_tasks_live(
        monkeypatch: pytest.MonkeyPatch) -> None:
    db = Path("/data/server.db")
    monkeypatch.delenv("QDRANT_URL", raising=False)
    assert describe_store("sqlite", db) == "sqlite file at /data/server.db"
    assert describe_store("qdrant", db) == "qdrant local mode at /data/server.db.qdrant"
    assert describe_store("qdrant+https://key:secret@q.example:6333", db) == (
        "qdrant server at https://q.example:6333")
    assert describe_store("postgresql://me:pw@db.example:5432/tasks?sslmode=require", db) == (
        "postgresql database at postgresql://db.example:5432/tasks")
    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:6333")
    assert describe_store("qdrant", db) == "qdrant server at http://127.0.0.1:6333"


@pytest.mark.parametrize("store", ["sqlite", "qdrant", "qdrant+http://h:6333",
                                   "postgresql://u@h/db"])
def test_store_values_the_server_takes(store: str) -> None:
    assert is_store(store)


@pytest.mark.parametrize("store", ["qdrant://h:6333", "mysql://h/db", "Qdrant", ""])
def test_store_values_the_server_refuses(store: str) -> None:
    assert not is_store(store)
