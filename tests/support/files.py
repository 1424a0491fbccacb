"""Files other applications left behind, for tests that must leave them untouched."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def foreign_database(path: Path, table: str) -> bytes:
    """A SQLite file at `path` holding one table of another application; its bytes."""
    db = sqlite3.connect(path)
    db.execute(f"CREATE TABLE {table} (value TEXT)")
    db.commit()
    db.close()
    return path.read_bytes()
