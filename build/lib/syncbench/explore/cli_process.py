"""One `tasksync` CLI command as a child process with a deadline, and what its exit says.

    run = await run_cli(["--replica", path, "--server", url, "--repo", repo], ["sync"],
                        deadline_s=15.0)
    outcome_of(run, "sync", queued=3)     # "ok" | "fail" | "info" for the History

The child is `python -m tasksync.cli` with this interpreter, so it imports the same tasksync
and inherits the environment: COVERAGE_PROCESS_START (a measuring `syncbench run` covers
the CLI's lines) and the seeded bugs switched on here (`cli_environment`). A command past
its deadline, or whose caller is cancelled, is killed (SIGKILL) and waited for: no child
outlives its op.

Exit codes (tasksync/cli.py): 0 done; 2 a usage error (nothing ran); 1 an error on one line,
`Error: ...`: a replica refusal (nothing changed or queued: unknown id, deleted task, no
conflict, ...), a sync or watch that could not finish, or an unexpected error
(`Error: unexpected ...`). The CLI does not tell a sync that pushed nothing from one whose
changes may have been applied, so a failed sync is `info` unless nothing was queued.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from syncbench.history import FAIL, INFO, OK
from tasksync import bugs

CLI = (sys.executable, "-m", "tasksync.cli")
# The CLI reads these when no flag is given; every command here gives the flags.
_OWN_SETTINGS = ("TASKSYNC_REPLICA", "TASKSYNC_SERVER", "TASKSYNC_REPO")

LOCAL_WRITES = frozenset({"add", "edit", "done", "rm", "resolve"})
READS = frozenset({"list", "conflicts"})  # change nothing, locally or on the server
USAGE_ERROR = 2

_SYNC_SUMMARY = re.compile(
    r"pushed (?P<pushed>\d+), pulled (?P<pulled>\d+) \((?P<applied>\d+) applied\), "
    r"(?P<conflicts>\d+) conflicts?, (?P<round_trips>\d+) round trips?")
_RELOAD = re.compile(r"full state fetched \(the server's log no longer covered our cursor"
                     r"(?: (?P<gap_after>\d+): the next event pulled was (?P<gap_first>\d+))?")
_WATCH_SUMMARY = re.compile(
    r"watched [\d.]+s: (?P<received>\d+) event\(s\), (?P<applied>\d+) applied, "
    r"cursor (?P<cursor>\d+)")
_UNRESOLVED = re.compile(r"^conflict on (?P<task_id>\S+) \(.*\): UNRESOLVED$", re.MULTILINE)


@dataclass(frozen=True)
class CliRun:
    """What one CLI command did: its words, exit code (None: killed at its deadline or on
    cancellation), output and duration."""

    command: tuple[str, ...]
    exit_code: int | None
    stdout: str
    stderr: str
    duration_s: float

    @property
    def error(self) -> str:
        """The one line that says what went wrong ("" when the command succeeded)."""
        if self.exit_code is not None and self.exit_code < 0:
            return f"killed by signal {-self.exit_code} after {self.duration_s:.1f}s"
        if self.exit_code is None:
            return f"killed after {self.duration_s:.1f}s (deadline)"
        if self.exit_code == 0:
            return ""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else f"exit code {self.exit_code}, nothing on stderr"

    def args(self) -> dict[str, Any]:
        """The History args of this command: its words, exit code, error and duration."""
        return {"command": " ".join(self.command), "exit_code": self.exit_code,
                "cli_error": self.error or None, "cli_duration_s": round(self.duration_s, 3)}


def cli_environment() -> dict[str, str]:
    """The environment of a CLI child: this process's, with the seeded bugs switched on
    here (so a client or replica bug the study enabled reaches the CLI), without the CLI's
    own settings (the flags name replica file, server and repository)."""
    env = {name: value for name, value in os.environ.items() if name not in _OWN_SETTINGS}
    switched = bugs.switched_on()
    if switched:
        env[bugs.ENV_VAR] = ",".join(sorted(switched))
    else:
        env.pop(bugs.ENV_VAR, None)
    return env


@dataclass(frozen=True)
class RunningCommand:
    """A CLI command running now: its words, its process, when it began (monotonic)."""

    command: tuple[str, ...]
    process: asyncio.subprocess.Process
    began: float


async def run_cli(options: Sequence[str], command: Sequence[str], *, deadline_s: float,
                  started: list[RunningCommand] | None = None) -> CliRun:
    """Run `tasksync <options> <command>` until it exits or `deadline_s` passes (then it is
    killed); the run. `started` holds the command while it runs (for whoever kills it
    mid-command, as a client crash does: syncbench.nemesis.clients)."""
    begun = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *CLI, *options, *command, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=cli_environment())
    running = RunningCommand(tuple(command), process, begun)
    if started is not None:
        started.append(running)
    exit_code: int | None
    try:
        out, err = await asyncio.wait_for(process.communicate(), deadline_s)
        exit_code = process.returncode
    except TimeoutError:
        out, err, exit_code = b"", b"", None
    finally:
        if process.returncode is None:  # past the deadline, or the caller was cancelled
            process.kill()
            await asyncio.shield(process.wait())
        if started is not None:
            started.remove(running)
    return CliRun(tuple(command), exit_code, out.decode(errors="replace"),
                  err.decode(errors="replace"), time.monotonic() - begun)


def outcome_of(run: CliRun, *, queued: int = 0) -> str:
    """The History outcome of `run`: ok, fail (certainly nothing happened) or info
    (unknown). `queued`: the changes the replica's outbox held before a `sync`."""
    name = run.command[0]
    if run.exit_code == 0:
        return OK
    if name in READS or run.exit_code == USAGE_ERROR:
        return FAIL
    if run.exit_code != 1:  # killed: a local write may have committed, a push been applied
        return INFO
    if run.error.startswith("Error: unexpected"):
        return INFO  # a crash half way: nothing says what it did
    if name in LOCAL_WRITES or name == "watch":
        return FAIL  # a refusal; a watch never changes the server
    return FAIL if name == "sync" and queued == 0 else INFO


def sync_summary(stdout: str) -> dict[str, int | bool | None] | None:
    """pushed, pulled, applied, conflicts and round_trips from `tasksync sync`'s summary
    line, and whether it fetched the full state (`resynced`, with the gap that made it:
    `gap_after`, `gap_first`); None when there is no summary."""
    found = _SYNC_SUMMARY.search(stdout)
    if not found:
        return None
    summary: dict[str, int | bool | None] = {
        name: int(value) for name, value in found.groupdict().items()}
    reload = _RELOAD.search(stdout)
    summary["resynced"] = reload is not None
    for name in ("gap_after", "gap_first"):
        value = reload.group(name) if reload else None
        summary[name] = int(value) if value is not None else None
    return summary


def watch_summary(stdout: str) -> dict[str, int] | None:
    """received, applied and cursor from `tasksync watch`'s last line; None without it."""
    found = _WATCH_SUMMARY.search(stdout)
    return {name: int(value) for name, value in found.groupdict().items()} if found else None


def unresolved_conflicts(stdout: str) -> list[str]:
    """The task ids `tasksync conflicts` lists as unresolved, in its order."""
    return _UNRESOLVED.findall(stdout)


def unique_prefix(task_id: str, ids: Sequence[str], shortest: int = 4) -> str:
    """The shortest prefix of `task_id` (at least `shortest` characters) that names it and
    no other id of `ids` (the whole id when none shorter does): as a user types an id."""
    others = [other for other in ids if other != task_id]
    for length in range(min(shortest, len(task_id)), len(task_id)):
        prefix = task_id[:length]
        if not any(other.startswith(prefix) for other in others):
            return prefix
    return task_id


__all__ = ["CLI", "CliRun", "LOCAL_WRITES", "READS", "RunningCommand", "cli_environment", "outcome_of",
           "run_cli", "sync_summary", "unique_prefix", "unresolved_conflicts",
           "watch_summary"]
