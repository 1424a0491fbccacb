"""The one error both halves of tasksync share: the server could not be reached.

    ServerUnreachable                         catch this for either package's
    ├── tasksync.client.ServerUnreachable     no connection could be opened (a TransportError)
    └── tasksync.replica.ServerUnreachable    a sync or watch got no usable answer; the local
                                              changes stay queued (a SyncError)

Each subclass also sits in its own package's tree (client/errors.py, replica/errors.py), so
`except TaskSyncError` and `except ReplicaError` keep catching what they always did. This
module imports nothing, so the replica's offline commands can load it without the network
clients.

Every error tasksync raises says itself whether the call certainly changed nothing on the
server: `definitely_not_applied` (a history records such an operation as `fail`, anything
else as unknown).
"""

from __future__ import annotations


class ServerUnreachable(Exception):
    """The server could not be reached; `definitely_not_applied` says if nothing can have applied."""

    definitely_not_applied: bool = False
