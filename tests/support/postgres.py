"""One PostgreSQL server per test process, and a fresh database per test.

`TASKSYNC_DATABASE_URL` names an existing server to use instead (its user must be allowed
to create databases); otherwise syncbench.postgres starts one (initdb, a free port).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import psycopg
from psycopg import sql

from syncbench.postgres import DATABASE_URL_ENV, LocalPostgres, with_database

_names = itertools.count(1)


class TestDatabases:
    """Makes empty databases on one server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def create(self) -> str:
        name = f"test_{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return with_database(self.admin_url, name)


def postgres_databases() -> Iterator[TestDatabases]:
    """The server to make test databases on: the given one, or one started for the run."""
    given = os.environ.get(DATABASE_URL_ENV)
    if given:
        yield TestDatabases(given)
        return
    with LocalPostgres() as server:
        yield TestDatabases(server.url())
