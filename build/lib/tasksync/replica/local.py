"""LocalStore: the replica's state in its SQLite file (tasks, the outbox, cursors, conflicts).

Each public method is one transaction. A local change commits together with its outbox
row; a server reply (acknowledged changes, conflicts, pulled events, the new cursor)
commits as a whole. A crash or a failed request therefore never leaves half of either, and
an outbox row disappears only in the transaction that applies the server's answer to it.

The methods are synchronous and short. `Replica` runs the ones that apply server replies on
a worker thread; the lock makes the connection safe to share between that thread and the
event loop's.

One idea a module, each a part of the store:

    schema.ReplicaFile       the file: its tables, connection, lock, transactions, client id
    tasks.Tasks              add, edit, delete, get, find, list (offline)
    outbox.Outbox            the queued changes and the cursor, as a sync reads them
    replies.ServerReplies    sync replies, live events and full state applied
    conflicts.Conflicts      the stored conflicts and their resolution
"""

from __future__ import annotations

from tasksync.replica.conflicts import Conflicts
from tasksync.replica.outbox import Outbox
from tasksync.replica.replies import AppliedReply, ServerReplies
from tasksync.replica.tasks import Tasks

__all__ = ["AppliedReply", "LocalStore"]


class LocalStore(Tasks, Outbox, ServerReplies, Conflicts):
    """The replica file at `path`, owned by one client id (generated once and stored)."""
