"""Everything a server instance is started with, as one value object."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tasksync.bugs import server_bugs
from tasksync.server.middleware.circuit_breaker import BreakerConfig
from tasksync.server.middleware.rate_limit import RateLimitConfig
from tasksync.server.websocket import WebSocketConfig
from tasksync.store.opening import is_store


@dataclass(frozen=True)
class ServerConfig:
    """How one tasksync server runs."""

    db_path: Path = Path("tasksync.db")
    # "sqlite" (the file at db_path), a PostgreSQL URL (postgresql://user@host:port/db),
    # which several server replicas may share (tasksync.store.postgres), or "qdrant" /
    # qdrant+http(s)://host:port (tasksync.store.opening.qdrant_target says which Qdrant)
    store: str = "sqlite"
    store_wait: float = 30.0  # seconds a server waits at start for its PostgreSQL or Qdrant
    enable_fault_injection: bool = False
    storage_timeout: float = 5.0
    max_body_bytes: int = 32 * 1024 * 1024
    log_retention: int | None = None
    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    websocket: WebSocketConfig = field(default_factory=WebSocketConfig)
    # Deliberate defects (tasksync.bugs) for proving that syncbench's checks can fail;
    # never on by default. Only server bugs: client and replica ones live in their process.
    seeded_bugs: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not is_store(self.store):
            raise ValueError(f"unknown store {self.store!r}; use 'sqlite' (the file --db names), "
                             "'qdrant', a PostgreSQL URL like postgresql://user@127.0.0.1:5432/"
                             "tasksync or a Qdrant URL like qdrant+http://127.0.0.1:6333")
        unknown = set(self.seeded_bugs) - server_bugs()
        if unknown:
            raise ValueError(
                f"unknown server seeded bug(s) {sorted(unknown)}; choose from "
                f"{sorted(server_bugs())} (client and replica bugs are switched on in their "
                "own process: tasksync.bugs.enable or TASKSYNC_SEEDED_BUGS)"
            )
