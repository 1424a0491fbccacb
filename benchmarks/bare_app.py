"""The bare baselines: plain Starlette endpoints served by the same uvicorn stack as tasksync.

GET /                      -> a short text reply (bare GET)
POST /echo                 -> the JSON body echoed back (bare POST echo)
GET /api/v1/tasks/{id}     -> a constant Task body, so tasksync's HTTPClient can call it
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TASK = (b'{"id":"bench","repository":"bench","content":"a bare task body","status":"pending",'
        b'"priority":"medium","version":1,"created_at":"2026-01-01T00:00:00Z",'
        b'"updated_at":"2026-01-01T00:00:00Z","deleted":false,"origin":"bench"}')


async def hello(request: Request) -> Response:
    return Response(b"ok", media_type="text/plain")


async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/json")


async def task(request: Request) -> Response:
    return Response(TASK, media_type="application/json")


app = Starlette(routes=[
    Route("/", hello, methods=["GET"]),
    Route("/echo", echo, methods=["POST"]),
    Route("/api/v1/tasks/{task_id}", task, methods=["GET"]),
])
