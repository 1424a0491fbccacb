"""Prometheus metrics of one server instance (its own registry, so tests can run many)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from tasksync.server.request_metrics import RequestStats

BREAKER_STATES = ("closed", "open", "half_open")


class ServerMetrics:
    """Counters and gauges the server updates; `render()` gives the /metrics text."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = RequestStats()
        self.registry.register(self.requests)
        self.breaker_state = Gauge(
            "tasksync_breaker_state", "1 for the circuit breaker's current state",
            ["state"], registry=self.registry,
        )
        self.breaker_transitions = Counter(
            "tasksync_breaker_transitions", "Circuit breaker transitions",
            ["from_state", "to_state"], registry=self.registry,
        )
        self.rate_limited = Counter(
            "tasksync_rate_limited", "Requests answered 429", registry=self.registry
        )
        self.ws_connections = Gauge(
            "tasksync_ws_connections", "Open WebSocket connections", registry=self.registry
        )
        self.ws_events_sent = Counter(
            "tasksync_ws_events_sent", "Events sent to WebSocket subscribers",
            registry=self.registry,
        )
        self.conflicts = Counter(
            "tasksync_sync_conflicts", "Batch-sync conflicts by strategy and winner",
            ["strategy", "winner"], registry=self.registry,
        )
        # read on scrape (see `count_writes_in_flight`)
        self.writes_in_flight = Gauge(
            "tasksync_writes_in_flight", "Writes received and not yet answered (queued for "
            "or inside a storage commit)", registry=self.registry)
        self.set_breaker_state("closed")

    def count_writes_in_flight(self, count: Callable[[], float]) -> None:
        """Report `count()` as tasksync_writes_in_flight on every scrape."""
        self.writes_in_flight.set_function(count)

    def set_breaker_state(self, state: str) -> None:
        for name in BREAKER_STATES:
            self.breaker_state.labels(state=name).set(1 if name == state else 0)

    def breaker_transition(self, from_state: str, to_state: str) -> None:
        self.breaker_transitions.labels(from_state=from_state, to_state=to_state).inc()
        self.set_breaker_state(to_state)

    def render(self) -> bytes:
        return generate_latest(self.registry)
