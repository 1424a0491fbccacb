"""Every error a replica user can meet, each with a message that says what to do.

    ReplicaError
    ├── TaskNotFound          no such task in this replica
    ├── AmbiguousTaskId       an id prefix more than one task's id starts with
    ├── TaskExists            add with an id the replica already holds
    ├── TaskDeleted           edit of a tombstone
    ├── InvalidTask           a field the server would reject (caught before it is queued)
    ├── NoConflict            resolve on a task without an unresolved conflict
    ├── ClientIdMismatch      the replica file belongs to another client id
    ├── NotAReplicaFile       the file is another application's (left untouched)
    └── SyncError             a sync could not finish; the outbox keeps what was not acknowledged
        ├── NoServerConfigured
        └── ServerUnreachable no usable answer (also a tasksync.errors.ServerUnreachable, as
                              the client's is)

Each says whether the server certainly saw no change from the call
(`definitely_not_applied`): always for the local refusals above NoServerConfigured, which
change and queue nothing; for a sync only when nothing of it was acknowledged and the
failing request itself certainly applied nothing (the client error it wraps says so).
"""

from __future__ import annotations

from tasksync import errors as shared


class ReplicaError(Exception):
    """Base of every replica error; str(error) is one line meant for the user."""

    # A local refusal: raised before anything is changed or queued.
    definitely_not_applied: bool = True


class TaskNotFound(ReplicaError):
    def __init__(self, task_id: str, repository: str) -> None:
        super().__init__(
            f"no task {task_id!r} in repository {repository!r} of this replica;"
            " `tasksync list --all` shows the ids"
        )
        self.task_id = task_id
        self.repository = repository


class AmbiguousTaskId(ReplicaError):
    """A prefix that more than one id starts with: the message lists them (the first few)."""

    def __init__(self, prefix: str, repository: str, matches: list[str],
                 shown: int = 10) -> None:
        listed = ", ".join(matches[:shown]) + (", ..." if len(matches) > shown else "")
        super().__init__(
            f"{prefix!r} is the start of more than one task id in repository {repository!r}"
            f" ({listed}); give more of the id"
        )
        self.prefix = prefix
        self.matches = list(matches)


class NotAReplicaFile(ReplicaError):
    """The replica path names a file that is not a tasksync replica; it was only read."""


class TaskExists(ReplicaError):
    def __init__(self, task_id: str, repository: str) -> None:
        super().__init__(
            f"task {task_id!r} already exists in repository {repository!r};"
            " use `tasksync edit` to change it or pick another id"
        )
        self.task_id = task_id


class TaskDeleted(ReplicaError):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id!r} was deleted; add a new task instead")
        self.task_id = task_id


class InvalidTask(ReplicaError, ValueError):
    """A value the protocol does not accept; nothing was changed or queued."""


class NoConflict(ReplicaError):
    def __init__(self, task_id: str) -> None:
        super().__init__(
            f"task {task_id!r} has no unresolved conflict; `tasksync conflicts` lists them"
        )
        self.task_id = task_id


class ClientIdMismatch(ReplicaError):
    def __init__(self, stored: str, given: str) -> None:
        super().__init__(
            f"this replica file belongs to client {stored!r}, not {given!r};"
            " open it without a client id or use another replica file"
        )


class SyncError(ReplicaError):
    """A sync stopped early; acknowledged changes are applied, the rest stay queued."""

    def __init__(
        self, message: str, pending: int = 0, *, definitely_not_applied: bool = False
    ) -> None:
        super().__init__(message)
        self.pending = pending
        self.definitely_not_applied = definitely_not_applied


class NoServerConfigured(SyncError):
    def __init__(self) -> None:
        super().__init__(
            "this replica has no server URL; pass --server URL (or set TASKSYNC_SERVER)",
            definitely_not_applied=True,  # nothing was sent
        )


class ServerUnreachable(SyncError, shared.ServerUnreachable):
    def __init__(
        self, url: str, pending: int, reason: str = "", *, definitely_not_applied: bool = False
    ) -> None:
        because = f" ({reason})" if reason else ""
        super().__init__(
            f"server unreachable at {url}{because}; your {pending} local"
            f" change{'' if pending == 1 else 's'} {'is' if pending == 1 else 'are'} kept in"
            " the outbox, run `tasksync sync` again when online",
            pending,
            definitely_not_applied=definitely_not_applied,
        )
        self.url = url
