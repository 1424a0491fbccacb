"""The paths the resilience study's faults must exercise (syncbench.paths)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from syncbench.paths import DeclaredPath
from syncbench.studies.resilience.params import ResilienceParams


def retried(result: Any) -> int:
    """Requests that took more than one attempt."""
    attempts = result.frames["attempts"]
    return 0 if attempts.empty else int((attempts["attempt"] > 1).sum())


def _transitions(result: Any, source: str, target: str) -> int:
    breaker: pd.DataFrame = result.frames["breaker"]
    if breaker.empty:
        return 0
    return int(((breaker["from"] == source) & (breaker["to"] == target)).sum())


def breaker_opened(result: Any) -> int:
    return _transitions(result, "closed", "open")


def breaker_closed(result: Any) -> int:
    return _transitions(result, "half_open", "closed")


def resumed(result: Any) -> int:
    """Subscriber reconnections (each resumes from its last seq)."""
    websocket = result.frames["websocket"]
    return 0 if websocket.empty else int(websocket["reconnects"].sum())


def resilience_paths(params: ResilienceParams, storage_played: bool) -> list[DeclaredPath]:
    """Network faults make requests retry (and subscribers resume); storage faults open
    the breaker, and recovery closes it."""
    paths = []
    if params.faults:
        paths.append(DeclaredPath("request_retried", "a request retried after a failed "
                                  "attempt", retried))
        if params.ws_clients:
            paths.append(DeclaredPath("subscriber_resumed", "a subscriber reconnected and "
                                      "resumed", resumed))
    if storage_played:
        paths += [DeclaredPath("breaker_opened", "the server's breaker opened on storage "
                               "errors", breaker_opened),
                  DeclaredPath("breaker_closed", "the breaker closed again after a "
                               "half-open trial", breaker_closed)]
    return paths


__all__ = ["resilience_paths"]
