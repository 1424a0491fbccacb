"""Qdrant storage behind TaskStore: tasks and the change log as documents in Qdrant.

Qdrant serves as a key-value document store: collections without vectors, points whose
ids are derived from a key (uuid5), payloads holding the document. Local mode (qdrant-
client's `path=`) answers a filtered query by scanning every point in Python, so every read
here is a lookup by id, never a filter:

- tasks: task id -> the task          - events: (repository, seq) -> the change event
- versions: (task id, version) -> where its event is and who wrote it (for snapshots and
  conflict checks: the versions to walk run from a base version to the task's current one)
- positions: (repository, n) -> the id of the repository's n-th task (list order; a page
  token is a position)
- repositories: name -> last and earliest seq, how many tasks and conflicts it has
- conflicts: (repository, n) -> its n-th conflict (ids ascend per repository)
- applied, replies: key -> the applied change / the stored idempotent reply
- meta: the schema version; journal: commits on their way (tasksync.store.qdrant_journal,
  which makes a transaction's writes all-or-nothing: Qdrant has no transactions)

One writer per set of collections: seqs and positions come from the repository's document
without a lock. Local mode's folder lock enforces it; with a Qdrant server, give each
tasksync server its own collection prefix (TASKSYNC_QDRANT_PREFIX).
"""

from __future__ import annotations

import base64
import logging
import math
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import msgspec
from qdrant_client import QdrantClient
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from tasksync.models import ChangeEvent, Conflict, Task
from tasksync.store.base import AppliedChange, StorageError, StoredReply
from tasksync.store.opening import QDRANT_PREFIX_ENV, QDRANT_URL_ENV, QdrantTarget
from tasksync.store.qdrant_journal import JOURNAL, Documents, Payload

SCHEMA_VERSION = 1
COLLECTIONS = ("meta", JOURNAL, "tasks", "events", "versions", "positions", "repositories",
               "conflicts", "applied", "replies")
API_KEY_ENV = "QDRANT_API_KEY"
START_RETRY_S = 0.25  # between attempts to reach a Qdrant server at start
log = logging.getLogger(__name__)
_decode_task = msgspec.json.Decoder(Task).decode
_decode_event = msgspec.json.Decoder(ChangeEvent).decode
_decode_applied = msgspec.json.Decoder(AppliedChange).decode
_decode_conflict = msgspec.json.Decoder(Conflict).decode
_untuned_warned = False


def _text(value: object) -> str:
    return msgspec.json.encode(value).decode()


def _key(name: str, number: int) -> str:
    # the number never holds \x1f, so the split at the last one is unique: no collisions
    return f"{name}\x1f{number}"


class QdrantStore:
    """TaskStore on Qdrant: local mode in a folder, or a server (`target`); collection
    names start with `prefix`; `log_retention` keeps only that many events per repository."""

    def __init__(self, target: QdrantTarget, log_retention: int | None = None,
                 call_timeout: float = 10.0, start_wait: float = 0.0,
                 prefix: str = "tasksync_") -> None:
        self.target = target
        self.log_retention = log_retention
        self.client = connect(target, call_timeout, start_wait)
        self.documents = Documents(self.client, prefix, target.describe())
        try:
            self._create_collections()
            found = self.documents.get("meta", "schema")
            if found is not None and found["version"] > SCHEMA_VERSION:
                raise StorageError(
                    f"the {target.describe()} holds tasksync schema version {found['version']}"
                    f" (collections {prefix}*), newer than this server's {SCHEMA_VERSION}; run "
                    "a newer tasksync on it, or give this one its own --db (local mode) or "
                    f"collection prefix ({QDRANT_PREFIX_ENV})")
            self.documents.replay()  # commits a crash cut off, before anything is served
            if found is None:
                self.documents.put("meta", "schema", {"version": SCHEMA_VERSION})
        except BaseException:
            self.close()
            raise

    def _create_collections(self) -> None:
        documents, client = self.documents, self.client
        names = [documents.name(collection) for collection in COLLECTIONS]
        for name in names:
            if documents.call("listing collections", client.collection_exists, name):
                continue
            try:
                documents.call("creating collections", client.create_collection, name,
                               vectors_config={})
            except StorageError:
                # another server may have created it meanwhile
                if not documents.call("listing collections", client.collection_exists, name):
                    raise
        if self.target.url is None:
            tune_local_files(client, names)

    # -- transactions ----------------------------------------------------------------------

    def transaction(self) -> AbstractContextManager[None]:
        """Writes inside are buffered and committed together through the journal."""
        return self.documents.transaction()

    def savepoint(self) -> AbstractContextManager[None]:
        return self.documents.savepoint()

    def flush(self) -> None:
        """Nothing is deferred beyond the buffer, which commits at the transaction's end."""

    def ping(self) -> None:
        self.documents.get("meta", "schema")

    # -- tasks -----------------------------------------------------------------------------

    def get_task(self, task_id: str) -> Task | None:
        found = self.documents.get("tasks", task_id)
        return _decode_task(found["d"]) if found else None

    def insert_task(self, task: Task) -> None:
        """A new task (the service inserts only ids it found absent), last in list order."""
        with self.documents.transaction():
            repository = self._repository(task.repository)
            repository["tasks"] += 1
            self.documents.put("positions", _key(task.repository, repository["tasks"]),
                               {"t": task.id})
            self.documents.put("repositories", task.repository, repository)
            self.documents.put("tasks", task.id, {"d": _text(task)})

    def replace_task(self, task: Task) -> None:
        self.documents.put("tasks", task.id, {"d": _text(task)})

    def list_tasks(
        self, repository: str, after_position: int, limit: int, include_deleted: bool
    ) -> tuple[list[Task], int | None]:
        count = self._repository(repository)["tasks"]
        found: list[tuple[int, Task]] = []
        position = after_position
        while len(found) <= limit and position < count:
            positions = range(position + 1, min(position + limit + 1, count) + 1)
            pointers = self.documents.get_many(
                "positions", [_key(repository, n) for n in positions])
            ids = [pointer["t"] for pointer in pointers if pointer is not None]
            tasks = iter(self.documents.get_many("tasks", ids))
            for n, pointer in zip(positions, pointers, strict=True):
                stored = next(tasks) if pointer is not None else None
                if stored is None:
                    continue
                task = _decode_task(stored["d"])
                if include_deleted or not task.deleted:
                    found.append((n, task))
            position = positions[-1]
        more = len(found) > limit
        found = found[:limit]
        return [task for _, task in found], found[-1][0] if more and found else None

    # -- change log ------------------------------------------------------------------------

    def _repository(self, name: str) -> Payload:
        """The repository's document, a copy to change (buffered layers must not change)."""
        found = self.documents.get("repositories", name)
        return dict(found) if found else {"earliest": 0, "last": 0, "tasks": 0, "conflicts": 0}

    def log_bounds(self, repository: str) -> tuple[int, int]:
        found = self._repository(repository)
        return found["earliest"], found["last"]

    def append_event(self, event_type: str, task: Task, timestamp: str) -> ChangeEvent:
        with self.documents.transaction():
            repository = self._repository(task.repository)
            seq, earliest = repository["last"] + 1, repository["earliest"] or 1
            event = ChangeEvent(
                repository=task.repository, seq=seq, type=event_type, task_id=task.id,
                version=task.version, task=task, origin=task.origin, timestamp=timestamp,
            )
            self.documents.put("events", _key(task.repository, seq), {"d": _text(event)})
            self.documents.put("versions", _key(task.id, task.version),
                               {"r": task.repository, "s": seq, "o": task.origin})
            if self.log_retention is not None and seq - earliest + 1 > self.log_retention:
                kept = seq - self.log_retention + 1
                self._prune(task.repository, range(earliest, kept))
                earliest = kept
            repository.update(last=seq, earliest=earliest)
            self.documents.put("repositories", task.repository, repository)
        return event

    def _prune(self, repository: str, seqs: range) -> None:
        """Remove the events `seqs` of `repository`, with their version pointers."""
        keys = [_key(repository, seq) for seq in seqs]
        for key, seq, found in zip(keys, seqs, self.documents.get_many("events", keys),
                                   strict=True):
            if found is None:
                continue
            event = _decode_event(found["d"])
            self.documents.delete("events", key)
            version_key = _key(event.task_id, event.version)
            pointer = self.documents.get("versions", version_key)
            if pointer is not None and (pointer["r"], pointer["s"]) == (repository, seq):
                self.documents.delete("versions", version_key)

    def changes(self, repository: str, after: int, limit: int) -> list[ChangeEvent]:
        earliest, last = self.log_bounds(repository)
        # `limit` events from the first one still there: a reader behind the pruned part
        # gets the retained events, and the jump past its cursor tells it to resync
        first = max(after + 1, earliest, 1)
        seqs = range(first, min(first + limit - 1, last) + 1)
        found = self.documents.get_many("events", [_key(repository, seq) for seq in seqs])
        return [_decode_event(event["d"]) for event in found if event is not None]

    def _versions(self, task_id: str, after: int, task: Task) -> Iterator[tuple[int, Payload | None]]:
        """(version, its pointer or None when pruned) for the versions after `after`."""
        versions = range(after + 1, task.version + 1)
        pointers = self.documents.get_many("versions", [_key(task_id, v) for v in versions])
        return zip(versions, pointers, strict=True)

    def snapshot_at(self, task_id: str, version: int) -> Task | None:
        pointer = self.documents.get("versions", _key(task_id, version))
        if pointer is None:
            return None
        found = self.documents.get("events", _key(pointer["r"], pointer["s"]))
        return _decode_event(found["d"]).task if found else None

    def written_by_others_since(self, task_id: str, version: int, origin: str) -> bool:
        task = self.get_task(task_id)
        if task is None:
            return True
        if version >= task.version:  # nothing after it; as SQLite: True when nothing is kept
            return self.documents.get("versions", _key(task_id, task.version)) is None
        versions = list(self._versions(task_id, version, task))
        if versions[0][1] is None:
            return True  # the log no longer shows who wrote those versions: assume others did
        return any(pointer is not None and pointer["o"] != origin for _, pointer in versions)

    def latest_version_by(self, task_id: str, origin: str, after_version: int) -> int | None:
        task = self.get_task(task_id)
        if task is None:
            return None
        for version, pointer in reversed(list(self._versions(task_id, after_version, task))):
            if pointer is not None and pointer["o"] == origin:
                return version
        return None

    # -- applied changes, conflicts, idempotency -------------------------------------------

    def applied_change(self, key: str) -> AppliedChange | None:
        found = self.documents.get("applied", key)
        return _decode_applied(found["d"]) if found else None

    def record_change(self, key: str, change: AppliedChange) -> None:
        self.documents.put("applied", key, {"d": _text(change)})

    def save_conflict(self, conflict: Conflict) -> int:
        with self.documents.transaction():
            repository = self._repository(conflict.repository)
            repository["conflicts"] += 1
            conflict.conflict_id = repository["conflicts"]
            self.documents.put("conflicts", _key(conflict.repository, conflict.conflict_id),
                               {"d": _text(conflict)})
            self.documents.put("repositories", conflict.repository, repository)
        return conflict.conflict_id

    def conflicts(self, repository: str, after_id: int, limit: int) -> list[Conflict]:
        ids = range(after_id + 1, min(after_id + limit, self._repository(repository)["conflicts"]) + 1)
        found = self.documents.get_many("conflicts", [_key(repository, n) for n in ids])
        return [_decode_conflict(conflict["d"]) for conflict in found if conflict is not None]

    def stored_reply(self, key: str) -> StoredReply | None:
        found = self.documents.get("replies", key)
        if found is None:
            return None
        return StoredReply(found["f"], found["s"], base64.b64decode(found["b"]))

    def save_reply(self, key: str, reply: StoredReply) -> None:
        self.documents.put("replies", key, {"f": reply.fingerprint, "s": reply.status,
                                            "b": base64.b64encode(reply.body).decode()})

    def close(self) -> None:
        self.client.close()


# -- opening -------------------------------------------------------------------------------


def connect(target: QdrantTarget, call_timeout: float, start_wait: float) -> QdrantClient:
    """A client of `target`'s Qdrant: its local folder, or its server, waited for up to
    `start_wait` seconds."""
    if target.url is None:
        assert target.path is not None
        return _open_local(target.path)
    return _open_server(target, call_timeout, start_wait)


def _open_local(path: Path) -> QdrantClient:
    try:
        # the server opens its store on one thread and uses it on its storage thread, one
        # thread at a time: SQLite's same-thread check would refuse that
        return QdrantClient(path=str(path), force_disable_check_same_thread=True)
    except RuntimeError as exc:
        if "already accessed" not in str(exc):
            raise StorageError(f"cannot open the Qdrant folder {path}: {exc}") from None
        raise StorageError(
            f"the Qdrant folder {path} is used by another server; local mode is one writer: "
            f"give each server its own --db, or run a Qdrant server and set {QDRANT_URL_ENV}"
        ) from None
    except (OSError, sqlite3.Error, ValueError) as exc:
        raise StorageError(f"cannot open the Qdrant folder {path}: {exc}; check that it "
                           "exists or can be made, and is writable") from None


def _open_server(target: QdrantTarget, call_timeout: float, start_wait: float) -> QdrantClient:
    where = target.describe()
    client = QdrantClient(url=target.url, timeout=max(1, math.ceil(call_timeout)),
                          api_key=os.environ.get(API_KEY_ENV) or None,
                          check_compatibility=False)  # its own call, with its own warnings
    deadline = time.monotonic() + start_wait
    while True:
        try:
            client.get_collections()
            return client
        except ResponseHandlingException as exc:
            if time.monotonic() >= deadline:
                client.close()
                raise StorageError(
                    f"cannot reach the {where} within {start_wait:g} s ({exc.source}); start "
                    "Qdrant there (docker run -p 6333:6333 qdrant/qdrant), check the URL, or "
                    f"unset {QDRANT_URL_ENV} to use local mode beside --db") from None
        except UnexpectedResponse as exc:
            client.close()
            raise StorageError(f"the {where} refused tasksync (HTTP {exc.status_code}); check "
                               f"{API_KEY_ENV} and the URL") from None
        time.sleep(START_RETRY_S)


def tune_local_files(client: QdrantClient, names: list[str]) -> None:
    """Local mode commits each point in its own SQLite transaction, journal mode DELETE and
    synchronous FULL (~580 points/s measured here). WAL with synchronous=NORMAL gives ~4,000
    and still survives kill -9 of the process (not a power cut), our SQLite store's promise.
    The connection is internal to qdrant-client (1.20): where it is not found, warn once
    and go on untuned (correct, just slower)."""
    global _untuned_warned
    collections = getattr(getattr(client, "_client", None), "collections", None)
    for name in names:
        storage = getattr(collections.get(name), "storage", None) if isinstance(
            collections, dict) else None
        connection = getattr(storage, "storage", None)
        if not isinstance(connection, sqlite3.Connection):
            if not _untuned_warned:
                _untuned_warned = True
                log.warning("qdrant-client's local files are not where tasksync expects them "
                            "(it was written for qdrant-client 1.20): they stay in journal mode "
                            "DELETE, synchronous FULL; writes are correct but several times "
                            "slower")
            return
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")


__all__ = ["SCHEMA_VERSION", "QdrantStore", "connect", "tune_local_files"]
