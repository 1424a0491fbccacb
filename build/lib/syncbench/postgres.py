"""A PostgreSQL server for a run: the one `TASKSYNC_DATABASE_URL` names, or one started here.

    with LocalPostgres() as database:      # initdb in a temporary directory, a free port
        url = database.create_database("run1")   # postgresql://tasksync@127.0.0.1:PORT/run1

A started server is `postgres` itself as a child process (not pg_ctl's daemon), so it dies
with us; it listens on 127.0.0.1 only and trusts local connections (a throwaway cluster).
PostgreSQL refuses to run as root: as root, initdb and postgres run as the `postgres`
system user that Debian's package creates. `fsync=off`: a commit is written to the kernel
before it is acknowledged, so it survives a crash of PostgreSQL's processes (what studies
do to it), not a power cut - the same promise as the SQLite store's synchronous=NORMAL.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from syncbench.machine import free_port
from syncbench.orphans import die_with_parent

DATABASE_URL_ENV = "TASKSYNC_DATABASE_URL"
SUPERUSER = "tasksync"
SYSTEM_USER = "postgres"  # Debian's package creates it; used when we run as root
HOW_TO_GET_POSTGRES = ("install PostgreSQL (`make setup` does: Debian's postgresql package) or "
                       f"set {DATABASE_URL_ENV}=postgresql://user@host:port/db to use an existing one")


_STILL_SHUTTING_DOWN = ("already exists", "still in use")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL could be started or reached; the message says what to do."""


def server_binaries() -> Path:
    """The folder holding initdb and postgres: from PATH, else Debian's newest version."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda path: int(Path(path).parent.parent.name), reverse=True)
    if versions:
        return Path(versions[0]).parent
    raise PostgresUnavailable(f"no PostgreSQL server binaries (initdb) found; {HOW_TO_GET_POSTGRES}")


def with_database(url: str, name: str) -> str:
    """`url` (postgresql://user@host:port/db?options) naming database `name` instead."""
    base, _, rest = url.partition("://")
    authority, _, tail = rest.partition("/")
    query = tail.partition("?")[2]
    return f"{base}://{authority}/{name}" + (f"?{query}" if query else "")


def with_address(url: str, host: str, port: int) -> str:
    """`url` reaching the same database at host:port (through a proxy), user kept."""
    base, _, rest = url.partition("://")
    authority, slash, tail = rest.partition("/")
    user = authority.rpartition("@")[0]
    return f"{base}://{user + '@' if user else ''}{host}:{port}{slash}{tail}"


def address_of(url: str) -> tuple[str, int]:
    """The host and port `url` connects to."""
    import psycopg

    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise PostgresUnavailable(f"cannot read the database URL ({exc}); give "
                                  "postgresql://user@host:port/database") from None
    return str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432)


class LocalPostgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1: initdb'd at start, removed at stop.

    `stop()` shuts it down cleanly and keeps the data for `start()` again; `crash()` is an
    immediate shutdown (no checkpoint: the next start recovers from the WAL, as after a
    crash); `close()` stops it and removes its directory.
    """

    def __init__(self, port: int = 0, start_timeout: float = 60.0) -> None:
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._root: Path | None = None
        self._run_as = SYSTEM_USER if os.geteuid() == 0 else None
        self._bin = server_binaries()

    # -- where --------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        assert self._root is not None, "start() first"
        return self._root / "data"

    @property
    def socket_dir(self) -> Path:
        assert self._root is not None, "start() first"
        return self._root / "sockets"

    @property
    def log_path(self) -> Path:
        assert self._root is not None, "start() first"
        return self._root / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> LocalPostgres:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> LocalPostgres:
        """initdb on first start, then run postgres and wait until it accepts connections."""
        if self.running:
            raise RuntimeError(f"PostgreSQL (pid {self.process.pid}) is already running")  # type: ignore[union-attr]
        if self._root is None:
            self._initdb()
        deadline = time.monotonic() + self.start_timeout
        while True:
            self._spawn()
            if self._wait_ready(deadline):
                return self
            # The previous postmaster's backends may still hold its shared memory for a
            # moment after a crash; postgres then exits at once: try again. Anything else
            # will not go away by itself.
            transient = any(sign in self.log_tail(3) for sign in _STILL_SHUTTING_DOWN)
            if not transient or time.monotonic() > deadline:
                raise PostgresUnavailable(f"PostgreSQL did not start within "
                                          f"{self.start_timeout:g} s; its log ends:\n{self.log_tail()}")

    def _initdb(self) -> None:
        if self._run_as is not None:
            try:
                account = pwd.getpwnam(self._run_as)
            except KeyError:
                raise PostgresUnavailable(
                    f"PostgreSQL will not run as root and there is no {self._run_as!r} user to "
                    f"run it as; {HOW_TO_GET_POSTGRES}") from None
        self._root = Path(tempfile.mkdtemp(prefix="syncbench-pg-"))
        self._root.chmod(0o755)  # the postgres user must reach its data directory
        self.data_dir.mkdir(mode=0o700)
        self.socket_dir.mkdir()
        self.log_path.touch()
        if self._run_as is not None:
            for path in (self.data_dir, self.socket_dir, self.log_path):
                os.chown(path, account.pw_uid, account.pw_gid)
        result = subprocess.run(
            [str(self._bin / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
             "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
            capture_output=True, user=self._run_as, cwd=self._root, check=False,
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed ({result.returncode}): "
                                      f"{(result.stderr or result.stdout).decode()[-2000:]}")

    def _spawn(self) -> None:
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [str(self._bin / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.socket_dir}",
                 "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
                 # two replicas' batches that lock repositories in another order: found fast
                 "-c", "deadlock_timeout=100ms"],
                stdout=log, stderr=subprocess.STDOUT, user=self._run_as, cwd=self._root,
                preexec_fn=die_with_parent(),
            )
        finally:
            log.close()

    def _wait_ready(self, deadline: float) -> bool:
        """True once a connection succeeds; False when postgres exited first."""
        import psycopg

        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.05)  # polling a process's readiness, with the deadline above
        return False

    def create_database(self, name: str) -> str:
        """A new empty database on this server; its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self) -> int | None:
        """Fast shutdown (clients disconnected, a checkpoint written); the exit code."""
        return self._signal(signal.SIGINT)

    def crash(self) -> int | None:
        """Immediate shutdown: every backend quits without a checkpoint, and the next start
        replays the WAL, as after a crash of the database server."""
        return self._signal(signal.SIGQUIT)

    def _signal(self, signum: int) -> int | None:
        process = self.process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.send_signal(signum)
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout=10)

    def close(self) -> None:
        """Stop the server and remove its directory."""
        with contextlib.suppress(Exception):
            self.stop()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, AssertionError):
            return ""


class RunDatabase:
    """The database one run uses: a new database on the server `TASKSYNC_DATABASE_URL`
    names (dropped at the end), or on a LocalPostgres started for the run."""

    def __init__(self, given_url: str | None = None) -> None:
        self.given_url = given_url if given_url is not None else os.environ.get(DATABASE_URL_ENV)
        self.local: LocalPostgres | None = None
        self.url = ""
        self._name = f"syncbench_{os.getpid()}_{int(time.time() * 1000) % 10**9}"

    @property
    def source(self) -> str:
        """Where the database runs, for the run's summary."""
        if self.given_url:
            host, port = address_of(self.given_url)
            return f"{DATABASE_URL_ENV} ({host}:{port})"
        return "started for the run (initdb, 127.0.0.1)"

    def open(self) -> str:
        """Create the run's database; its URL."""
        if self.given_url:
            self.url = _create_database(self.given_url, self._name)
        else:
            self.local = LocalPostgres().start()
            self.url = self.local.create_database("tasksync")
        return self.url

    def close(self) -> None:
        if self.local is not None:
            self.local.close()
            self.local = None
        elif self.given_url and self.url:
            with contextlib.suppress(Exception):
                _drop_database(self.given_url, self._name)
        self.url = ""

    def version(self) -> str:
        import psycopg

        with psycopg.connect(self.url, connect_timeout=5) as connection:
            row = connection.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0] if row else '?'}"


def _create_database(server_url: str, name: str) -> str:
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise PostgresUnavailable(
            f"cannot create a database on {DATABASE_URL_ENV}'s server ({exc}); its user needs "
            "CREATEDB, or unset it to start a PostgreSQL for the run") from None
    return with_database(server_url, name)


def _drop_database(server_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


__all__ = ["DATABASE_URL_ENV", "RunDatabase", "address_of", "with_address", "LocalPostgres", "PostgresUnavailable", "server_binaries", "with_database"]
