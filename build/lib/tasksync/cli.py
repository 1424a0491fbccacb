"""`tasksync`: the command line over an offline-first replica, and `tasksync serve`.

Every command but `sync`, `watch` and `serve` works offline. Errors are one line on stderr
with a non-zero exit (1; 2 for usage errors), never a traceback; TASKSYNC_DEBUG=1 shows the
traceback of an unexpected error.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from tasksync import bugs
from tasksync.cli_types import FiniteFloat
from tasksync.models import PRIORITIES, STATUSES, STRATEGIES, ChangeEvent, SyncTaskFields, Task
from tasksync.replica import ConflictRecord, LocalTask, Replica, ReplicaError, SyncReport

DEFAULT_REPLICA = "~/.tasksync/replica.db"
DEFAULT_SERVER = "http://127.0.0.1:8700"

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """The global options every command opens its replica with."""

    replica_path: str
    server_url: str
    repository: str

    def open(self, repository: str | None = None) -> Replica:
        return Replica(
            self.replica_path, server_url=self.server_url,
            repository=repository or self.repository,
        )


class TasksyncGroup(click.Group):
    """Turns every error into one line on stderr: the user gets what to do, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ReplicaError as exc:
            raise click.ClickException(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:
            if os.environ.get("TASKSYNC_DEBUG"):
                raise
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {exc} (set TASKSYNC_DEBUG=1 for details)"
            ) from None


@click.group(cls=TasksyncGroup)
@click.option("--replica", "replica_path", envvar="TASKSYNC_REPLICA", default=DEFAULT_REPLICA,
              show_default=True, type=click.Path(dir_okay=False),
              help="The local replica file (env TASKSYNC_REPLICA).")
@click.option("--server", "server_url", envvar="TASKSYNC_SERVER", default=DEFAULT_SERVER,
              show_default=True, help="The tasksync server (env TASKSYNC_SERVER).")
@click.option("--repo", "repository", envvar="TASKSYNC_REPO", default="default",
              show_default=True, help="The repository to work in (env TASKSYNC_REPO).")
@click.option("--seeded-bug", "seeded_bugs", multiple=True,
              type=click.Choice(sorted(set(bugs.BUGS) - bugs.server_bugs())),
              help="Switch on a deliberate client or replica defect (repeatable; env "
                   f"{bugs.ENV_VAR}), to prove syncbench's checks catch it.")
@click.version_option(package_name="syncbench", prog_name="tasksync")
@click.pass_context
def cli(ctx: click.Context, replica_path: str, server_url: str, repository: str,
        seeded_bugs: tuple[str, ...]) -> None:
    """Offline-first tasks: edit locally, `tasksync sync` when online."""
    if seeded_bugs:
        bugs.enable(seeded_bugs)
    ctx.obj = Settings(replica_path, server_url, repository)


@contextmanager
def _replica(ctx: click.Context, repository: str | None = None) -> Iterator[Replica]:
    settings: Settings = ctx.obj
    with settings.open(repository) as replica:
        yield replica


def _online(ctx: click.Context, work: Callable[[Replica], Awaitable[T]]) -> T:
    """Run `work` on the replica inside one event loop, closing its connections after."""
    settings: Settings = ctx.obj

    async def run() -> T:
        async with settings.open() as replica:
            return await work(replica)

    return asyncio.run(run())


def _task_command(command: Callable[..., None]) -> click.Command:
    """`command` as a `tasksync` command on the task its TASK_ID argument names.

    Options decorated below it are the command's own, after TASK_ID.
    """
    return cli.command()(click.argument("task_id")(click.pass_context(command)))


def _change_task(
    ctx: click.Context, task_id: str, change: Callable[[Replica, str], LocalTask]
) -> None:
    """Apply `change` to the task `task_id` names (a unique prefix will do); print the task."""
    with _replica(ctx) as replica:
        task = change(replica, replica.find(task_id).id)
    click.echo(_task_line(task))


# -- local commands -------------------------------------------------------------------------


@cli.command()
@click.argument("text")
@click.option("--priority", type=click.Choice(PRIORITIES), default="medium", show_default=True)
@click.option("--status", type=click.Choice(STATUSES), default="pending", show_default=True)
@click.option("--id", "task_id", help="Use this id instead of a new one.")
@click.option("--repo", "repository", help="Add to this repository instead of the global one.")
@click.pass_context
def add(
    ctx: click.Context, text: str, priority: str, status: str, task_id: str | None,
    repository: str | None,
) -> None:
    """Add a task; prints its id."""
    with _replica(ctx, repository) as replica:
        task = replica.add(text, priority=priority, status=status, task_id=task_id)
    click.echo(task.id)


@_task_command
@click.option("--content")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--priority", type=click.Choice(PRIORITIES))
def edit(
    ctx: click.Context, task_id: str, content: str | None, status: str | None,
    priority: str | None,
) -> None:
    """Change a task's content, status or priority (ID may be a unique prefix)."""
    if content is None and status is None and priority is None:
        raise click.UsageError("nothing to change: give --content, --status or --priority")
    _change_task(
        ctx, task_id,
        lambda replica, found: replica.edit(
            found, content=content, status=status, priority=priority
        ),
    )


@_task_command
def done(ctx: click.Context, task_id: str) -> None:
    """Mark a task completed."""
    _change_task(ctx, task_id, Replica.done)


@_task_command
def rm(ctx: click.Context, task_id: str) -> None:
    """Delete a task (a tombstone that syncs; `list --all` still shows it)."""
    _change_task(ctx, task_id, Replica.rm)


@cli.command("list")
@click.option("--all", "include_deleted", is_flag=True, help="Show deleted tasks too.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
@click.pass_context
def list_tasks(ctx: click.Context, include_deleted: bool, as_json: bool) -> None:
    """List tasks: * not yet synced, ! open conflict."""
    with _replica(ctx) as replica:
        tasks = replica.list(include_deleted)
    if as_json:
        click.echo(json.dumps([task.as_dict() for task in tasks], indent=2))
        return
    for task in tasks:
        click.echo(_task_line(task))


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include conflicts the strategy resolved.")
@click.pass_context
def conflicts(ctx: click.Context, show_all: bool) -> None:
    """Show conflicts with both sides (by default the unresolved, manual ones)."""
    with _replica(ctx) as replica:
        records = replica.conflicts(unresolved_only=not show_all)
    if not records:
        click.echo("no unresolved conflicts" if not show_all else "no conflicts")
    for record in records:
        click.echo(_conflict_text(record))


@_task_command
@click.option("--keep", type=click.Choice(["local", "server"]), required=True,
              help="local: push your side over the server's; server: take the server's.")
def resolve(ctx: click.Context, task_id: str, keep: str) -> None:
    """Resolve a manual conflict by keeping one side."""
    _change_task(ctx, task_id, lambda replica, found: replica.resolve(found, keep))
    if keep == "local":
        click.echo("queued; run `tasksync sync` to send it")


# -- commands that need the server ----------------------------------------------------------


@cli.command()
@click.option("--strategy", type=click.Choice(STRATEGIES), default="server_wins",
              show_default=True, help="How the server resolves conflicting changes.")
@click.pass_context
def sync(ctx: click.Context, strategy: str) -> None:
    """Push local changes, pull everyone else's."""
    settings: Settings = ctx.obj
    report = _online(ctx, lambda replica: replica.sync(strategy))
    click.echo(_sync_summary(report, settings.server_url))
    for record in report.conflicts:
        click.echo(_conflict_text(record))
    for task_id in report.rejected:
        click.echo(
            f"rejected {task_id}: the server has this id in another repository; the local"
            " change was dropped from the outbox", err=True,
        )


@cli.command()
@click.option("--seconds", type=FiniteFloat(min=0, min_open=True),
              help="Stop after this many seconds (default: until Ctrl-C).")
@click.option("--events", "max_events", type=click.IntRange(min=1),
              help="Stop after this many events.")
@click.pass_context
def watch(ctx: click.Context, seconds: float | None, max_events: int | None) -> None:
    """Apply live changes from the server as they happen."""

    def show(event: ChangeEvent, changed: bool) -> None:
        note = "" if changed else "  (not applied: local changes pending)"
        click.echo(f"#{event.seq} {event.type} {_task_text(event.task)}{note}")

    try:
        report = _online(
            ctx, lambda replica: replica.watch(seconds=seconds, max_events=max_events,
                                               on_event=show)
        )
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
        return
    click.echo(
        f"watched {report.duration_s:.1f}s: {report.received} event(s),"
        f" {report.applied} applied, cursor {report.cursor}"
    )
    if report.behind:
        click.echo("an event went missing on the way; run `tasksync sync` to fetch it", err=True)


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                      "help_option_names": []},
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(args: tuple[str, ...]) -> None:
    """Run the tasksync server (`tasksync serve --help` lists its options)."""
    # The server's own command owns its options (--host, --port, --db,
    # --enable-fault-injection, ...); imported here so other commands stay quick to start.
    from tasksync.server.cli import serve_command

    serve_command.main(list(args), prog_name="tasksync serve")


@cli.command()
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Serve a database file in this process instead of calling --server.")
@click.pass_context
def mcp(ctx: click.Context, db_path: Path | None) -> None:
    """Speak the Model Context Protocol on stdin/stdout (for desktop MCP clients): the task
    tools, calling the server --server names (retried under idempotency keys), or a server
    embedded in this process on --db."""
    import anyio

    from tasksync.mcp_server.stdio import serve_stdio  # the SDK only for this command

    anyio.run(serve_stdio, ctx.obj.server_url, db_path)


# -- output ---------------------------------------------------------------------------------


def _fields_text(fields: SyncTaskFields | Task) -> str:
    deleted = " (deleted)" if fields.deleted else ""
    return f"[{fields.status}/{fields.priority}] {fields.content!r}{deleted}"


def _task_text(task: Task) -> str:
    return f"{task.id} v{task.version} {_fields_text(task)}"


def _task_line(task: LocalTask) -> str:
    marks = ("*" if task.unsynced else " ") + ("!" if task.in_conflict else " ")
    return f"{marks} {task.id}  v{task.version}  {_fields_text(task.fields)}"


def _conflict_text(record: ConflictRecord) -> str:
    state = "UNRESOLVED" if record.unresolved else (
        f"resolved: kept {record.resolution}" if record.resolution else f"winner {record.winner}"
    )
    server = (
        f"{_fields_text(record.server)} (v{record.server.version} by {record.server.origin})"
        if record.server is not None else "(none)"
    )
    lines = [
        f"conflict on {record.task_id} ({record.strategy}, base v{record.base_version}): {state}",
        f"  local : {_fields_text(record.client)}",
        f"  server: {server}",
    ]
    if record.fields:
        lines.append(f"  contested fields (server's kept): {', '.join(record.fields)}")
    if record.unresolved:
        lines.append(f"  resolve with: tasksync resolve {record.task_id} --keep local|server")
    return "\n".join(lines)


def _sync_summary(report: SyncReport, server_url: str) -> str:
    conflicts = len(report.conflicts)
    parts = [
        f"synced with {server_url} ({report.strategy}): pushed {report.pushed},"
        f" pulled {report.pulled} ({report.applied} applied),"
        f" {conflicts} conflict{'' if conflicts == 1 else 's'},"
        f" {report.round_trips} round trip{'' if report.round_trips == 1 else 's'}"
        f" in {report.duration_s:.2f}s"
    ]
    if report.pending:
        parts.append(f"; {report.pending} change(s) still queued")
    if report.resynced:
        gap = (f" {report.gap[0]}: the next event pulled was {report.gap[1]}"
               if report.gap else "")
        parts.append(f"; full state fetched (the server's log no longer covered our cursor{gap})")
    return "".join(parts)


def main() -> None:
    """Console entry point of `tasksync`."""
    cli.main(prog_name="tasksync")


if __name__ == "__main__":
    main()
