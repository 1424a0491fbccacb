"""WebSocket subscribers in this process, or spread over Ray actors (N actors x M each)
when one Python process cannot drive them all.

    fleet = await SubscriberFleet.start(actors=4)          # 0: in this process
    await fleet.subscribe(stack.ws_url("load"), "repo-1", names, timeout_s=60)
    ...write events...
    await fleet.wait_for(len(names) * events, timeout_s=60, quiet_s=5)
    rows = await fleet.collect()   # one row per delivery, every actor's merged
    fleet.offsets                  # each actor's clock against ours (recorded)
    await fleet.stop()

Each actor's wall clock is measured against this process's (`clock_offset`) and its
arrivals are moved onto ours before latencies are taken; which event came first is the
server's `seq`, never an arrival time from another process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from syncbench.distributed.clock_offset import ClockOffset, measure_offset
from syncbench.distributed.subscribers import SubscriberGroup
from syncbench.ray_cluster import Cluster, connect_ray, ray_module

IN_PROCESS = "local"


class SubscriberFleet:
    def __init__(self, groups: dict[str, Any], remote: bool, cluster: Cluster | None) -> None:
        self.groups = groups  # name -> SubscriberGroup, or its Ray actor handle
        self.remote = remote
        self.cluster = cluster
        self.offsets: dict[str, ClockOffset] = {}
        self.placed: dict[str, str] = {}  # subscriber -> the group it runs in

    @classmethod
    async def start(cls, actors: int = 0, address: str | None = None) -> SubscriberFleet:
        """`actors` Ray actors (0: one group in this process), each's clock measured."""
        if actors <= 0:
            fleet = cls({IN_PROCESS: SubscriberGroup()}, remote=False, cluster=None)
            fleet.offsets[IN_PROCESS] = ClockOffset(0.0, 0.0, 0)
            return fleet
        cluster = connect_ray(address)
        ray = ray_module()
        # an actor is mostly waiting on sockets: it asks for a share of a CPU, so N of them
        # fit on a small machine
        actor_class = ray.remote(num_cpus=0.25, max_concurrency=1000)(SubscriberGroup)
        groups = {f"actor-{index}": actor_class.remote() for index in range(actors)}
        fleet = cls(groups, remote=True, cluster=cluster)
        for name, actor in groups.items():
            fleet.offsets[name] = await measure_offset(lambda a=actor: a.now.remote())
        return fleet

    async def subscribe(self, ws_url: str, repository: str, names: Sequence[str],
                        timeout_s: float) -> float:
        """Subscribers `names` to `repository`, dealt round-robin over the groups; the
        seconds until all were connected."""
        dealt: dict[str, list[str]] = {group: [] for group in self.groups}
        order = list(self.groups)
        for index, name in enumerate(names):
            group = order[index % len(order)]
            dealt[group].append(name)
            self.placed[name] = group
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(self._call(group, "subscribe", ws_url, repository, mine,
                                          timeout_s)
                               for group, mine in dealt.items() if mine))
        return loop.time() - started

    async def received(self) -> int:
        counts = await asyncio.gather(*(self._call(group, "received") for group in self.groups))
        return sum(counts)

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
        """Close every subscriber; every delivery, its arrival moved onto this process's
        clock and its latency taken from there, with the group it ran in."""
        batches = await asyncio.gather(*(self._call(group, "close") for group in self.groups))
        rows = []
        for group, batch in zip(self.groups, batches, strict=True):
            offset = self.offsets[group].offset_s
            for row in batch:
                rows.append({**row, "group": group,
                             "received_time": row["received_time"] - offset,
                             "latency_ms": row["latency_ms"] - offset * 1000})
        return rows

    async def stop(self) -> None:
        """Close what is open; end the actors (the Ray connection stays for the next)."""
        if not self.remote:
            await self.groups[IN_PROCESS].close()
            return
        ray = ray_module()
        for actor in self.groups.values():
            ray.kill(actor)

    def describe(self) -> dict[str, Any]:
        """Where the subscribers ran and each group's clock offset (for the run's record)."""
        return {"placement": "ray actors" if self.remote else "in process",
                "groups": len(self.groups),
                "ray": self.cluster.to_dict() if self.cluster else None,
                "clock_offsets": {g: o.to_dict() for g, o in self.offsets.items()}}

    async def _call(self, group: str, method: str, *args: Any) -> Any:
        target = self.groups[group]
        if self.remote:
            return await getattr(target, method).remote(*args)
        result = getattr(target, method)(*args)
        return await result if asyncio.iscoroutine(result) else result


__all__ = ["IN_PROCESS", "SubscriberFleet"]
