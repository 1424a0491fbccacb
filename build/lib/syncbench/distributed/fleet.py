"""Clients in this process, or spread over Ray actors (N actors x M clients each) when one
Python process cannot drive them all: WebSocket subscribers (`SubscriberFleet`) and polling
HTTP clients (`HttpFleet`).

    fleet = await SubscriberFleet.start(actors=4)          # 0: in this process
    await fleet.subscribe(stack.ws_url("load"), "repo-1", names, timeout_s=60)
    ...write events...
    await fleet.wait_for(len(names) * events, timeout_s=60, quiet_s=5)
    rows = await fleet.collect()   # one row per delivery, every actor's merged
    fleet.describe()               # placement and each actor's clock offset (recorded)
    await fleet.stop()

Each actor's wall clock is measured against this process's (`clock_offset`) and its times
are moved onto ours before latencies are taken; which event came first is the server's
`seq`, never an arrival time from another process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Self

from syncbench.distributed.clock_offset import ClockOffset, measure_offset
from syncbench.distributed.http_clients import HttpClientGroup
from syncbench.distributed.subscribers import SubscriberGroup
from syncbench.ray_cluster import Cluster, connect_ray, ray_module

IN_PROCESS = "local"
# an actor mostly waits on sockets: it asks for a share of a CPU, so several fit anywhere
ACTOR_CPUS = 0.25


class Fleet:
    group_class: type = object

    def __init__(self, groups: dict[str, Any], remote: bool, cluster: Cluster | None) -> None:
        self.groups = groups  # name -> a group object, or its Ray actor handle
        self.remote = remote
        self.cluster = cluster
        self.offsets: dict[str, ClockOffset] = {}
        self.placed: dict[str, str] = {}  # client -> the group it runs in

    @classmethod
    async def start(cls, actors: int = 0, address: str | None = None) -> Self:
        """`actors` Ray actors (0: one group in this process), each one's clock measured."""
        if actors <= 0:
            fleet = cls({IN_PROCESS: cls.group_class()}, remote=False, cluster=None)
            fleet.offsets[IN_PROCESS] = ClockOffset(0.0, 0.0, 0)
            return fleet
        cluster = connect_ray(address)
        actor_class = ray_module().remote(num_cpus=ACTOR_CPUS,
                                          max_concurrency=1000)(cls.group_class)
        groups = {f"actor-{index}": actor_class.remote() for index in range(actors)}
        fleet = cls(groups, remote=True, cluster=cluster)
        for name, actor in groups.items():
            fleet.offsets[name] = await measure_offset(lambda a=actor: a.now.remote())
        return fleet

    def deal(self, names: Sequence[str]) -> dict[str, list[str]]:
        """`names` dealt round-robin over the groups (recorded in `placed`)."""
        dealt: dict[str, list[str]] = {group: [] for group in self.groups}
        order = list(self.groups)
        for index, name in enumerate(names):
            group = order[index % len(order)]
            dealt[group].append(name)
            self.placed[name] = group
        return dealt

    async def stop(self) -> None:
        """End the actors (the Ray connection stays, for the next fleet)."""
        if self.remote:
            for actor in self.groups.values():
                ray_module().kill(actor)

    def describe(self) -> dict[str, Any]:
        """Where the clients ran and each group's clock offset (for the run's record)."""
        return {"placement": "ray actors" if self.remote else "in process",
                "groups": len(self.groups),
                "ray": self.cluster.to_dict() if self.cluster else None,
                "clock_offsets": {g: o.to_dict() for g, o in self.offsets.items()}}

    def _ours(self, group: str, moment: float) -> float:
        """A time read on `group`'s clock, on this process's."""
        return moment - self.offsets[group].offset_s

    async def _call(self, group: str, method: str, *args: Any, **options: Any) -> Any:
        target = self.groups[group]
        if self.remote:
            return await getattr(target, method).remote(*args, **options)
        result = getattr(target, method)(*args, **options)
        return await result if asyncio.iscoroutine(result) else result


class SubscriberFleet(Fleet):
    group_class = SubscriberGroup

    async def subscribe(self, ws_url: str, repository: str, names: Sequence[str],
                        timeout_s: float) -> float:
        """Subscribers `names` to `repository` from its start; seconds until all were in."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(self._call(group, "subscribe", ws_url, repository, mine,
                                          timeout_s)
                               for group, mine in self.deal(names).items() if mine))
        return loop.time() - started

    async def follow(self, subscribers: Sequence[tuple[str, str, Mapping[str, int]]],
                     timeout_s: float, **options: Any) -> None:
        """Connect each (name, ws_url, repositories -> position) subscriber, dealt over the
        groups; `options` go to every WebSocketClient (see SubscriberGroup.follow)."""
        by_name = {name: (url, repositories) for name, url, repositories in subscribers}
        dealt = self.deal(list(by_name))
        await asyncio.gather(*(self._call(group, "follow", name, *by_name[name], timeout_s,
                                          **options)
                               for group, names in dealt.items() for name in names))

    async def positions(self) -> dict[str, dict[str, int]]:
        """Each followed subscriber's last seq delivered, per repository."""
        merged: dict[str, dict[str, int]] = {}
        for found in await asyncio.gather(*(self._call(group, "positions")
                                            for group in self.groups)):
            merged.update(found)
        return merged

    async def feed_stats(self) -> dict[str, int]:
        """Reconnects and duplicates dropped, summed over every group."""
        totals = {"reconnects": 0, "duplicates_dropped": 0}
        for found in await asyncio.gather(*(self._call(group, "feed_stats")
                                            for group in self.groups)):
            for key in totals:
                totals[key] += found[key]
        return totals

    async def wait_for(self, expected: int, timeout_s: float, quiet_s: float) -> int:
        """Until every group has its share of `expected` deliveries (or went quiet, or the
        timeout passed); how many are in."""
        share = {group: 0 for group in self.groups}
        for group in self.placed.values():
            share[group] += 1
        per_subscriber = expected // max(1, len(self.placed))
        counts = await asyncio.gather(*(
            self._call(group, "wait_for", share[group] * per_subscriber, timeout_s, quiet_s)
            for group in self.groups))
        return sum(counts)

    async def collect(self) -> list[dict[str, Any]]:
        """Close every subscriber; every delivery, its arrival on this process's clock and
        its latency taken from there, with the group it ran in."""
        batches = await asyncio.gather(*(self._call(group, "close") for group in self.groups))
        self.placed = {}
        rows = []
        for group, batch in zip(self.groups, batches, strict=True):
            offset_ms = self.offsets[group].offset_s * 1000
            rows += [{**row, "group": group,
                      "received_time": self._ours(group, row["received_time"]),
                      "latency_ms": row["latency_ms"] - offset_ms} for row in batch]
        return rows

    async def stop(self) -> None:
        if not self.remote:
            await self.groups[IN_PROCESS].close()
        await super().stop()


class HttpFleet(Fleet):
    group_class = HttpClientGroup

    async def poll(self, url: str, names: Sequence[str], seconds: float, interval_s: float,
                   timeout_s: float) -> list[dict[str, Any]]:
        """Every client sends a noop every `interval_s` for `seconds`; one row per request
        (sent on this process's clock), every group's merged."""
        dealt = {group: mine for group, mine in self.deal(names).items() if mine}
        batches = await asyncio.gather(*(
            self._call(group, "run", url, mine, seconds, interval_s, timeout_s)
            for group, mine in dealt.items()))
        return [{**row, "group": group, "sent_time": self._ours(group, row["sent_time"])}
                for group, batch in zip(dealt, batches, strict=True) for row in batch]


__all__ = ["IN_PROCESS", "Fleet", "HttpFleet", "SubscriberFleet"]
