"""Live updates for a replica: WebSocket events applied to local tasks as they arrive."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tasksync.replica.local import LocalStore


@dataclass(frozen=True, slots=True)
class WatchReport:
    """What one watch did: events received, local tasks they changed, the cursor after."""

    received: int
    applied: int
    cursor: int
    duration_s: float
    resyncs: int = 0


async def watch_replica(
    store: LocalStore,
    repository: str,
    server_url: str,
    *,
    seconds: float | None,
    max_events: int | None,
    on_event: Callable[[Any], None] | None,
    client_options: Mapping[str, Any],
) -> WatchReport:
    raise NotImplementedError
