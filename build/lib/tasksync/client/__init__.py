"""tasksync.client: async HTTP, batch and WebSocket clients for a tasksync server.

HTTPClient       task routes (create/get/list/update/delete/changes/noop), retried
BatchClient      POST /sync/batch, with the same retry machinery
WebSocketClient  resumable, duplicate-free change feed over /ws
RetryPolicy      backoff with full jitter, caps, Retry-After, deadline (a frozen value)
ClientBreakerConfig  the optional client-side circuit breaker
Attempt          what the observer receives for every HTTP attempt
errors           the exception tree (TaskSyncError and below), documented in errors.py
"""

from tasksync.client import errors
from tasksync.client.attempts import Attempt, Observer
from tasksync.client.batch import BatchClient
from tasksync.client.breaker import BreakerTransition, ClientBreaker, ClientBreakerConfig
from tasksync.client.errors import (
    BadRequest,
    CircuitOpenError,
    ClientVersionUnsupported,
    HTTPStatusError,
    IdConflict,
    NotFound,
    ProtocolError,
    RateLimited,
    RetriesExhausted,
    ServerUnreachable,
    ServiceUnavailable,
    TaskSyncError,
    TransportError,
    ValidationFailed,
    VersionConflict,
)
from tasksync.client.http import HTTPClient
from tasksync.client.retry import DEFAULT_RETRY, RetryPolicy, parse_retry_after
from tasksync.client.websocket import (
    DEFAULT_RECONNECT,
    ReceivedEvent,
    ResyncRequired,
    WebSocketClient,
    WebSocketStats,
)

__all__ = [
    "DEFAULT_RECONNECT",
    "DEFAULT_RETRY",
    "Attempt",
    "BadRequest",
    "BatchClient",
    "BreakerTransition",
    "CircuitOpenError",
    "ClientBreaker",
    "ClientBreakerConfig",
    "ClientVersionUnsupported",
    "HTTPClient",
    "HTTPStatusError",
    "IdConflict",
    "NotFound",
    "Observer",
    "ProtocolError",
    "RateLimited",
    "ReceivedEvent",
    "ResyncRequired",
    "RetriesExhausted",
    "RetryPolicy",
    "ServerUnreachable",
    "ServiceUnavailable",
    "TaskSyncError",
    "TransportError",
    "ValidationFailed",
    "VersionConflict",
    "WebSocketClient",
    "WebSocketStats",
    "errors",
    "parse_retry_after",
]
