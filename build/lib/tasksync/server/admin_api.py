"""Operational routes: health, metrics, the breaker's state, and (when enabled) fault injection."""

from __future__ import annotations

import random
from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tasksync.clock import now_rfc3339
from tasksync.server.http_api import decode_body, json_response
from tasksync.store.base import StorageError


class FaultSettings(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /api/v1/admin/faults."""

    storage_error_rate: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0
    storage_delay_ms: Annotated[float, msgspec.Meta(ge=0, le=600_000)] = 0.0
    seed: int = 0


async def health(request: Request) -> Response:
    try:
        await request.app.state.service.ping()
    except StorageError as exc:
        body = {"status": "degraded", "storage": f"unavailable: {exc}"}
        return json_response(503, msgspec.json.encode(body), {"Retry-After": "1"})
    # `time` is this server's clock as every write stamps it: how a skewed clock is seen
    return json_response(200, b'{"status":"ok","storage":"ok","time":"%s"}'
                         % now_rfc3339().encode())


async def metrics(request: Request) -> Response:
    return Response(
        request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


async def breaker(request: Request) -> Response:
    return json_response(200, msgspec.json.encode(request.app.state.breaker.snapshot()))


def _faults_body(request: Request) -> bytes:
    faults = request.app.state.service.faults
    return msgspec.json.encode({
        "storage_error_rate": faults.error_rate,
        "storage_delay_ms": faults.delay_s * 1000,
        "seed": faults.seed,
    })


async def set_faults(request: Request) -> Response:
    settings = await decode_body(request, FaultSettings)
    faults = request.app.state.service.faults
    faults.error_rate = settings.storage_error_rate
    faults.delay_s = settings.storage_delay_ms / 1000
    faults.seed = settings.seed
    faults.rng = random.Random(settings.seed)
    return json_response(200, _faults_body(request))


async def get_faults(request: Request) -> Response:
    return json_response(200, _faults_body(request))


async def clear_faults(request: Request) -> Response:
    faults = request.app.state.service.faults
    faults.error_rate, faults.delay_s = 0.0, 0.0
    return json_response(200, _faults_body(request))


ROUTES = [
    Route("/health", health, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/api/v1/admin/breaker", breaker, methods=["GET"]),
]

FAULT_ROUTES = [
    Route("/api/v1/admin/faults", get_faults, methods=["GET"]),
    Route("/api/v1/admin/faults", set_faults, methods=["POST"]),
    Route("/api/v1/admin/faults", clear_faults, methods=["DELETE"]),
]
