"""The replicas' and subscribers' ops of a generated schedule (`r0`, ..., `s0`, ...), as plain
JSON dicts (played by explore/actors.py).

Replicas edit locally (creating, updating, deleting, several of them editing the task they
share) and sync, sometimes after a long offline burst. Subscribers subscribe at chosen
positions, resume, unsubscribe, and race on purpose: resume storms under the writers, and
replays of the retained log while they write themselves (the replay/live seam).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from syncbench.explore.gates import WS_PROBES

SUBSCRIBE_POSITIONS = ("zero", "first", "middle", "last", "beyond", "max")
STORM_RESUMES = 8  # replays in one resume_storm
REPLAY_WRITES = (3, 6)  # creates sent one after another while a replay runs
STORM_PAUSE_S = (0.05, 0.2)  # how long each of its connections lives before the next


class ReplicaSchedule:
    """The makers of replica and subscriber ops, one per kind (`_local_create`, ...), mixed
    into the generator: it provides `rng`, `step`, `ops`, `shape`, `repositories`,
    `replica_repo` (replica name -> its repository), `shared_key`, `_fields`, `_content`
    and `_repository`."""

    rng: random.Random
    shape: Any
    step: int  # the step the next emitted op gets
    ops: list[dict[str, Any]]
    repositories: tuple[str, ...]
    replica_repo: dict[str, str]
    shared_key: dict[str, str]  # repository -> content key of its shared task
    _fields: Callable[[], dict[str, str]]
    _content: Callable[[str], str]
    _repository: Callable[[], str]

    # -- replicas -------------------------------------------------------------------------------

    def _local_create_op(self, replica: str) -> dict[str, Any]:
        key = f"{replica}.{self.step}"
        self.shared_key.setdefault(self.replica_repo[replica], key)
        return {"op": "local_create", "key": key, **self._fields()}

    def _local_update_op(self, replica: str) -> dict[str, Any]:
        return {"op": "local_update", "pick": round(self.rng.random(), 4),
                "content_suffix": f"v{self.step}", **self._fields()}

    def _local_create(self, replica: str) -> list[dict[str, Any]]:
        return [self._local_create_op(replica)]

    def _local_update(self, replica: str) -> list[dict[str, Any]]:
        return [self._local_update_op(replica)]

    def _local_delete(self, replica: str) -> list[dict[str, Any]]:
        return [{"op": "local_delete", "pick": round(self.rng.random(), 4)}]

    def _shared_edit(self, replica: str) -> list[dict[str, Any]] | None:
        key = self.shared_key.get(self.replica_repo[replica])
        if key is None:
            return None
        return [{**self._local_update_op(replica), "key_of": key}]

    def _sync(self, replica: str) -> list[dict[str, Any]]:
        return [{"op": "sync", "strategy": self.shape.strategy}]

    def _offline_burst(self, replica: str) -> list[dict[str, Any]]:
        """Offline, several local writes (a sync attempt fails meanwhile), online, sync."""
        ops: list[dict[str, Any]] = [{"op": "offline"}]
        writes = self.rng.randint(4, 10)
        failing_sync_at = self.rng.randrange(writes)
        for index in range(writes):
            roll = self.rng.random()
            # steps are assigned on emission: count the ones made so far in this burst
            offset = len(ops)
            key = f"{replica}.{self.step + offset}"
            if roll < 0.35:
                self.shared_key.setdefault(self.replica_repo[replica], key)
                ops.append({"op": "local_create", "key": key, **self._fields()})
            elif roll < 0.9:
                ops.append({"op": "local_update", "pick": round(self.rng.random(), 4),
                            "content_suffix": f"v{self.step + offset}", **self._fields()})
            else:
                ops.append({"op": "local_delete", "pick": round(self.rng.random(), 4)})
            if index == failing_sync_at:
                ops.append({"op": "sync", "strategy": self.shape.strategy})
        ops += [{"op": "online"}, {"op": "sync", "strategy": self.shape.strategy}]
        return ops

    # -- subscribers ----------------------------------------------------------------------------

    def _subscribe(self, subscriber: str) -> list[dict[str, Any]]:
        repositories = (list(self.repositories) if self.rng.random() < 0.6
                        else [self._repository()])
        return [{"op": "subscribe", "repositories": repositories,
                 "at": self.rng.choice(SUBSCRIBE_POSITIONS)}]

    def _resume(self, subscriber: str) -> list[dict[str, Any]]:
        return [{"op": "resume"}]

    def _resume_storm(self, subscriber: str) -> list[dict[str, Any]]:
        """Replays one after another while the writers work: a race on purpose (a write
        committed while the server turns a replay into a live feed). Subscribes from zero
        (the longest replays) alternate with resumes, each connection living a moment, so
        an event lost in the switch is followed by later ones on the same connection."""
        return [{"op": "subscribe", "repositories": list(self.repositories), "at": "zero",
                 "storm": True} if index % 2 == 0 else {"op": "resume", "storm": True}
                for index in range(STORM_RESUMES)]

    def _replay_under_writes(self, subscriber: str) -> list[dict[str, Any]]:
        """The seam between a replay and live delivery, on purpose rather than by luck: a
        subscribe from where the retained log starts (the longest replay, many pages) while
        the subscriber itself creates tasks in that repository, one after another from the
        moment it subscribed. Writes committed while the replay runs must arrive live."""
        key = f"{subscriber}.{self.step}"
        return [{"op": "replay_under_writes", "repository": self._busiest_repository(),
                 "writes": [{"content": self._content(f"{key}.{index}"), **self._fields()}
                            for index in range(self.rng.randint(*REPLAY_WRITES))]}]

    def _busiest_repository(self) -> str:
        """The repository most ops so far named (the first on a tie): the longest replay."""
        named = [op.get("repository") for op in self.ops]
        return max(self.repositories, key=lambda repo: (named.count(repo),
                                                        -self.repositories.index(repo)))

    def _unsubscribe(self, subscriber: str) -> list[dict[str, Any]]:
        return [{"op": "unsubscribe", "repositories": [self._repository()]}]

    def _ws_gate(self, subscriber: str) -> list[dict[str, Any]]:
        sent = sum(op["op"] == "ws_gate" for op in self.ops)
        return [{"op": "ws_gate", "probe": sorted(WS_PROBES)[sent % len(WS_PROBES)]}]


__all__ = ["REPLAY_WRITES", "ReplicaSchedule", "STORM_PAUSE_S", "STORM_RESUMES",
           "SUBSCRIBE_POSITIONS"]
