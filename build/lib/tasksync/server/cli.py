"""`tasksync serve`: the server's command-line options, turned into a ServerConfig."""

from __future__ import annotations

from pathlib import Path

import click

from tasksync.bugs import server_bugs
from tasksync.cli_types import FiniteFloat
from tasksync.server.config import ServerConfig
from tasksync.server.middleware.circuit_breaker import BreakerConfig
from tasksync.server.middleware.rate_limit import RateLimitConfig
from tasksync.server.websocket import WebSocketConfig
from tasksync.store.opening import is_store


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8700, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on; 0 picks a free one (printed on start).")
@click.option("--db", "db_path", default="tasksync.db", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="SQLite file of the server.")
@click.option("--store", default="sqlite", show_default=True, envvar="TASKSYNC_STORE",
              help="Where tasks live: 'sqlite' (the --db file); a PostgreSQL URL "
                   "(postgresql://user@host:port/db) that several servers can share; or "
                   "'qdrant': Qdrant's local mode in the folder <--db>.qdrant (one server), "
                   "or the Qdrant server $QDRANT_URL names when set (also qdrant+http://"
                   "host:6333 directly; key in $QDRANT_API_KEY) [env: TASKSYNC_STORE].")
@click.option("--store-wait", default=30.0, show_default=True, type=FiniteFloat(0),
              help="Seconds to wait at start for a PostgreSQL or Qdrant server to answer (a "
                   "server started while its database restarts waits for it).")
@click.option("--port-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the bound port here once listening.")
@click.option("--enable-fault-injection", is_flag=True,
              help="Expose /api/v1/admin/faults (storage errors and delays). Never in production.")
@click.option("--storage-timeout", default=5.0, show_default=True, type=FiniteFloat(0.001),
              help="Seconds before a storage call answers 504.")
@click.option("--max-body-bytes", default=32 * 1024 * 1024, show_default=True,
              type=click.IntRange(1), help="Larger request bodies get 413.")
@click.option("--log-retention", type=click.IntRange(1),
              help="Keep only this many change-log events per repository (default: all).")
@click.option("--breaker-window", default=20, show_default=True, type=click.IntRange(1))
@click.option("--breaker-threshold", default=10, show_default=True, type=click.IntRange(1),
              help="Failures within the window that open the breaker.")
@click.option("--breaker-open-seconds", default=5.0, show_default=True,
              type=FiniteFloat(0.001))
@click.option("--breaker-half-open-calls", default=3, show_default=True, type=click.IntRange(1))
@click.option("--rate-limit", default=1000.0, show_default=True, type=FiniteFloat(0),
              help="Requests per second per client id; 0 turns rate limiting off.")
@click.option("--rate-burst", default=2000.0, show_default=True, type=FiniteFloat(1))
@click.option("--heartbeat-interval", default=10.0, show_default=True,
              type=FiniteFloat(0.01), help="Seconds between WebSocket pings.")
@click.option("--heartbeat-timeout", default=30.0, show_default=True,
              type=FiniteFloat(0.01), help="Close a WebSocket silent for this long.")
@click.option("--ws-replay-page", default=1000, show_default=True,
              type=click.IntRange(1, 10_000),
              help="Events read from the log per storage call while replaying to a subscriber.")
@click.option("--seeded-bug", "seeded_bugs", multiple=True, type=click.Choice(sorted(server_bugs())),
              help="Switch on a deliberate server defect (to prove syncbench's checks catch "
                   "it); see `syncbench zoo --list`.")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve_command(
    host: str, port: int, db_path: Path, store: str, store_wait: float, port_file: Path | None, enable_fault_injection: bool,
    storage_timeout: float, max_body_bytes: int, log_retention: int | None,
    breaker_window: int, breaker_threshold: int, breaker_open_seconds: float,
    breaker_half_open_calls: int, rate_limit: float, rate_burst: float,
    heartbeat_interval: float, heartbeat_timeout: float, ws_replay_page: int,
    seeded_bugs: tuple[str, ...], log_level: str,
) -> None:
    """Run the tasksync server."""
    from tasksync.server.main import ServerStartError, serve

    if breaker_threshold > breaker_window:
        raise click.BadParameter("must not exceed --breaker-window", param_hint="--breaker-threshold")
    if not is_store(store):
        raise click.BadParameter("use 'sqlite', 'qdrant', a PostgreSQL URL like "
                                 "postgresql://user@127.0.0.1:5432/tasksync or a Qdrant server "
                                 "URL like qdrant+http://127.0.0.1:6333", param_hint="--store")
    config = ServerConfig(
        db_path=db_path,
        store=store,
        store_wait=store_wait,
        enable_fault_injection=enable_fault_injection,
        storage_timeout=storage_timeout,
        max_body_bytes=max_body_bytes,
        log_retention=log_retention,
        breaker=BreakerConfig(
            window_size=breaker_window, failure_threshold=breaker_threshold,
            open_seconds=breaker_open_seconds, half_open_max_calls=breaker_half_open_calls,
        ),
        rate_limit=RateLimitConfig(rate=rate_limit or 1.0, burst=rate_burst,
                                   enabled=rate_limit > 0),
        websocket=WebSocketConfig(heartbeat_interval=heartbeat_interval,
                                  heartbeat_timeout=heartbeat_timeout,
                                  replay_page=ws_replay_page),
        seeded_bugs=frozenset(seeded_bugs),
    )
    try:
        serve(config, host=host, port=port, log_level=log_level, port_file=port_file)
    except ServerStartError as exc:
        raise click.ClickException(str(exc)) from None


if __name__ == "__main__":
    serve_command()
