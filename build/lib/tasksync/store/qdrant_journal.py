"""Documents in Qdrant collections, committed all or nothing through a journal point.

Qdrant has no transaction over several points, yet one TaskStore transaction writes many (a
task, its event, its version pointer, the repository's bounds, ...) and a crash must never
leave some of them without the others. So:

- inside `transaction()` every write is buffered in memory, and reads look in the buffer
  first (read-your-writes); a `savepoint()` is a layer of the buffer, dropped if it raises;
- COMMIT writes ONE journal point holding all the transaction's writes and deletes (a very
  large one in parts, each under a request's size; it counts once all parts are stored),
  then applies them to their collections (batched upserts and deletes), then deletes the
  journal point; the commit returns, and the server acknowledges, only after that;
- at open, and before anything else after an apply that failed, journal points left behind
  are applied again: upserts and deletes by id are idempotent, so applying twice is harmless.

Errors of the client (local mode's SQLite, a server's HTTP link) surface as StorageError;
a call that timed out, or a commit journaled but not applied, as StorageTimeout (the write
may or may not be visible yet; it will be once the journal is replayed).
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import msgspec
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from tasksync.store.base import StorageError, StorageTimeout

T = TypeVar("T")
Payload = dict[str, Any]
# (collection, point id) -> the point's new payload, None to delete it
Ops = dict[tuple[str, str], Payload | None]

JOURNAL = "journal"
MARK = ("meta", "applied")  # the serial of the newest commit applied in full
JOURNAL_PART_BYTES = 8 * 1024 * 1024  # a Qdrant server refuses requests over 32 MB
REQUEST_POINTS = 512  # points per upsert, delete or retrieve request
_NAMESPACE_BYTES = uuid.UUID("0b5f3b1e-6f0c-5d2a-9c1e-7461736b7379").bytes
_decode_ops = msgspec.json.Decoder(list[tuple[str, str, Payload | None]]).decode


def point_id(key: str) -> str:
    """The point id of `key`: a uuid5 (ids are uuids or integers in Qdrant). Encoded with
    surrogatepass: keys hold client text, which may carry anything."""
    # uuid.UUID(bytes=..., version=5) spelled out: a commit derives an id per write, and
    # the class costs ~3x as much (~1 s of a 10,000-item batch)
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + key.encode("utf-8", "surrogatepass"))
                       .digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Documents:
    """Payload documents by key in `prefix`-named collections, with buffered transactions."""

    def __init__(self, client: QdrantClient, prefix: str, where: str) -> None:
        self.client = client
        self.prefix = prefix
        self.where = where  # "qdrant local mode at ..." / "qdrant server at ...", for errors
        self._layers: list[Ops] = []  # the open transaction's buffer, one layer per savepoint
        self._unapplied = False  # a commit was journaled, its apply failed: replay first
        self._serial = 0

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit the writes made inside on leaving, or none of them on an exception.
        Inside another transaction it joins it (a write outside one commits on its own)."""
        if self._layers:
            yield
            return
        if self._unapplied:
            self.replay()
        self._layers = [{}]
        try:
            yield
            ops = self._layers[0]
        finally:
            self._layers = []
        if ops:
            self.commit(ops)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside a transaction: the writes made inside are dropped alone on an exception."""
        if not self._layers:
            with self.transaction():
                yield
            return
        self._layers.append({})
        try:
            yield
        except BaseException:
            self._layers.pop()
            raise
        layer = self._layers.pop()
        self._layers[-1].update(layer)

    def pending(self) -> Ops:
        """The open transaction's writes, all layers merged (what its commit would write)."""
        merged: Ops = {}
        for layer in self._layers:
            merged.update(layer)
        return merged

    def commit(self, ops: Ops) -> None:
        try:
            journal = self.write_journal(ops)
        except BaseException as exc:
            # the journal may have been stored anyway (a timeout, a reset after the server
            # took it): the outcome is unknown, and it is replayed before anything newer
            self._unapplied = True
            if isinstance(exc, StorageError) and not isinstance(exc, StorageTimeout):
                raise StorageTimeout(f"{exc}; the commit may or may not have been "
                                     "journaled") from exc
            raise
        try:
            self.apply(ops)
            # the mark after the writes: a journal at or below it is never applied again,
            # so one found late (its write landed after a replay) cannot undo newer commits
            self._upsert(MARK[0], [models.PointStruct(id=point_id(MARK[1]), vector={},
                                                      payload={"serial": self._serial})])
            self._delete(JOURNAL, journal)
        except BaseException as exc:
            self._unapplied = True
            if isinstance(exc, StorageError):
                raise StorageTimeout(f"the commit was journaled but not applied ({exc}); "
                                     "it is applied before the next read or write") from exc
            raise

    # -- reading and writing ---------------------------------------------------------------

    def get(self, collection: str, key: str) -> Payload | None:
        return self.get_many(collection, [key])[0]

    def get_many(self, collection: str, keys: list[str]) -> list[Payload | None]:
        """The documents of `keys`, in order (None: absent), the buffer's first."""
        found: list[Payload | None] = [None] * len(keys)
        missing: dict[str, list[int]] = {}
        for index, key in enumerate(keys):
            pid = point_id(key)
            for layer in reversed(self._layers):
                if (collection, pid) in layer:
                    found[index] = layer[(collection, pid)]
                    break
            else:
                missing.setdefault(pid, []).append(index)
        if missing:
            for pid, payload in self._fetch(collection, list(missing)).items():
                for index in missing[pid]:
                    found[index] = payload
        return found

    def put(self, collection: str, key: str, payload: Payload) -> None:
        with self.transaction():
            self._layers[-1][(collection, point_id(key))] = payload

    def delete(self, collection: str, key: str) -> None:
        with self.transaction():
            self._layers[-1][(collection, point_id(key))] = None

    def _fetch(self, collection: str, ids: list[str]) -> dict[str, Payload]:
        if self._unapplied and not self._layers:
            self.replay()
        found: dict[str, Payload] = {}
        for start in range(0, len(ids), REQUEST_POINTS):
            records = self.call("reading", self.client.retrieve, self.name(collection),
                                ids=ids[start:start + REQUEST_POINTS], with_payload=True,
                                with_vectors=False)
            found.update((str(record.id), record.payload or {}) for record in records)
        return found

    def name(self, collection: str) -> str:
        return self.prefix + collection

    # -- the journal -----------------------------------------------------------------------

    def write_journal(self, ops: Ops) -> list[str]:
        """Store `ops` as journal point(s) and return their ids; once this returns, the
        writes survive a crash (the next open applies them)."""
        self._serial = serial = max(time.time_ns(), self._serial + 1)  # replay order
        parts = _parts(ops)
        ids = [point_id(f"{serial}/{number}") for number in range(len(parts))]
        for number, (pid, text) in enumerate(zip(ids, parts, strict=True)):
            self._upsert(JOURNAL, [models.PointStruct(id=pid, vector={}, payload={
                "serial": serial, "part": number, "parts": len(parts), "ops": text})])
        return ids

    def apply(self, ops: Ops) -> None:
        """Write `ops` to their collections (idempotent: applying twice changes nothing)."""
        upserts: dict[str, list[models.PointStruct]] = {}
        deletes: dict[str, list[str]] = {}
        for (collection, pid), payload in ops.items():
            if payload is None:
                deletes.setdefault(collection, []).append(pid)
            else:
                upserts.setdefault(collection, []).append(
                    models.PointStruct(id=pid, vector={}, payload=payload))
        for collection, points in upserts.items():
            self._upsert(collection, points)
        for collection, ids in deletes.items():
            self._delete(collection, ids)

    def replay(self) -> int:
        """Apply the journaled commits left behind, oldest first; drop the parts of one
        whose journal was cut off (never committed, never acknowledged). Returns how many
        commits were applied."""
        journals: dict[int, list[Any]] = {}
        offset = None
        while True:
            records, offset = self.call(
                "reading the journal", self.client.scroll, self.name(JOURNAL), limit=64,
                offset=offset, with_payload=True, with_vectors=False)
            for record in records:
                journals.setdefault(int((record.payload or {})["serial"]), []).append(record)
            if offset is None:
                break
        mark = self._fetch_mark()
        # serials go on from the newest seen, whatever the wall clock does (a moved clock
        # must not make a new commit look older than the mark)
        self._serial = max(self._serial, mark, *journals)
        applied = 0
        for serial in sorted(journals):
            records = sorted(journals[serial], key=lambda record: record.payload["part"])
            if serial > mark and len(records) == records[0].payload["parts"]:
                ops: Ops = {}
                for record in records:
                    for collection, pid, payload in _decode_ops(record.payload["ops"]):
                        ops[(collection, pid)] = payload
                self.apply(ops)
                applied += 1
            self._delete(JOURNAL, [str(record.id) for record in records])
        self._unapplied = False
        return applied

    def _fetch_mark(self) -> int:
        records = self.call("reading the journal mark", self.client.retrieve,
                            self.name(MARK[0]), ids=[point_id(MARK[1])], with_payload=True,
                            with_vectors=False)
        return int((records[0].payload or {}).get("serial", 0)) if records else 0

    # -- Qdrant calls ----------------------------------------------------------------------

    def _upsert(self, collection: str, points: list[models.PointStruct]) -> None:
        for start in range(0, len(points), REQUEST_POINTS):
            self.call("writing", self.client.upsert, self.name(collection),
                      points=points[start:start + REQUEST_POINTS], wait=True)

    def _delete(self, collection: str, ids: list[str]) -> None:
        for start in range(0, len(ids), REQUEST_POINTS):
            self.call("deleting", self.client.delete, self.name(collection),
                      points_selector=models.PointIdsList(points=ids[start:start + REQUEST_POINTS]),
                      wait=True)

    def call(self, doing: str, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`method(*args, **kwargs)`, its failures as StorageError (StorageTimeout when the
        server did not answer in time)."""
        try:
            return method(*args, **kwargs)
        except ResponseHandlingException as exc:
            if isinstance(exc.source, httpx.TimeoutException):
                raise StorageTimeout(f"{self.where} did not answer in time ({doing})") from exc
            raise StorageError(f"{self.where} failed ({doing}): "
                               f"{exc.source or type(exc).__name__}") from exc
        except UnexpectedResponse as exc:
            detail = exc.content.decode("utf-8", "replace")[:200]
            raise StorageError(f"{self.where} refused {doing}: HTTP {exc.status_code} "
                               f"{detail}") from exc
        except (sqlite3.Error, OSError, RuntimeError) as exc:  # local mode's files, a closed client
            raise StorageError(f"{self.where} failed ({doing}): {exc}") from exc


def _parts(ops: Ops) -> list[str]:
    """`ops` as JSON texts of [collection, point id, payload] lists, each under
    JOURNAL_PART_BYTES (a single larger op makes a part of its own)."""
    parts: list[str] = []
    chunk: list[bytes] = []
    size = 0
    for (collection, pid), payload in ops.items():
        encoded = msgspec.json.encode((collection, pid, payload))
        if chunk and size + len(encoded) > JOURNAL_PART_BYTES:
            parts.append(b"[" + b",".join(chunk) + b"]")
            chunk, size = [], 0
        chunk.append(encoded)
        size += len(encoded) + 1
    parts.append(b"[" + b",".join(chunk) + b"]")
    return [part.decode() for part in parts]


__all__ = ["JOURNAL", "Documents", "Ops", "Payload", "point_id"]
