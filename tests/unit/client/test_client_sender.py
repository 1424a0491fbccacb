"""The retry loop, against real local servers: what is retried, how long, with which key."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tasksync.client import (
    Attempt,
    HTTPClient,
    NotFound,
    RetriesExhausted,
    RetryPolicy,
    ServerUnreachable,
    ServiceUnavailable,
    TransportError,
    errors,
)

from .servers import RawServer, Reply, ScriptedHTTPServer, task_json

FAST = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.005, deadline=5.0, seed=1)
TRANSPORTS = ["aiohttp", "httpx"]


def error(status: int, code: str = "e", **headers: str) -> Reply:
    return Reply(status, {"error": code, "message": "scripted"}, headers)


def client_for(url: str, attempts: list[Attempt], **kwargs: object) -> HTTPClient:
    kwargs.setdefault("retry", FAST)
    return HTTPClient(url, observer=attempts.append, timeout=1.0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_retryable_statuses_are_retried_until_success(
    http_server: ScriptedHTTPServer, status: int
) -> None:
    http_server.script(error(status), error(status), Reply(200, task_json()))
    attempts: list[Attempt] = []
    async with client_for(http_server.url, attempts) as client:
        task = await client.get_task("t1")
    assert task.id == "t1"
    assert [a.outcome for a in attempts] == [str(status), str(status), "ok"]
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert len({a.call_id for a in attempts}) == 1
    assert attempts[0].delay_before_next is not None and attempts[-1].delay_before_next is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, errors.BadRequest),
        (404, NotFound),
        (409, errors.IdConflict),
        (412, errors.VersionConflict),
        (422, errors.ValidationFailed),
        (426, errors.ClientVersionUnsupported),
        (500, errors.HTTPStatusError),
    ],
)
async def test_client_errors_are_not_retried(
    http_server: ScriptedHTTPServer, status: int, expected: type
) -> None:
    http_server.default = error(status)
    attempts: list[Attempt] = []
    async with client_for(http_server.url, attempts) as client:
        with pytest.raises(expected):
            await client.update_task("t1", content="x")
    assert len(http_server.requests) == 1
    assert [a.outcome for a in attempts] == [str(status)]


async def test_one_idempotency_key_per_call_reused_across_retries(
    http_server: ScriptedHTTPServer,
) -> None:
    http_server.script(error(503), Reply(201, task_json()), error(502), Reply(201, task_json()))
    attempts: list[Attempt] = []
    async with client_for(http_server.url, attempts) as client:
        await client.create_task("repo-a", "one")
        await client.create_task("repo-a", "two")
    keys = [r.headers["idempotency-key"] for r in http_server.requests]
    assert keys[0] == keys[1] and keys[2] == keys[3] and keys[0] != keys[2]
    assert len(keys[0]) == 32 and int(keys[0], 16) >= 0  # uuid4 hex
    assert [a.idempotency_key for a in attempts] == keys


async def test_reads_carry_no_idempotency_key(http_server: ScriptedHTTPServer) -> None:
    http_server.default = Reply(200, task_json())
    attempts: list[Attempt] = []
    async with client_for(http_server.url, attempts) as client:
        await client.get_task("t1")
    assert "idempotency-key" not in http_server.requests[0].headers
    assert attempts[0].idempotency_key is None


async def test_retry_after_seconds_are_waited(http_server: ScriptedHTTPServer) -> None:
    http_server.script(error(429, "rate_limited", **{"Retry-After": "0.2"}), Reply(200, {}))
    attempts: list[Attempt] = []
    async with client_for(http_server.url, attempts) as client:
        await client.noop()
    first, second = http_server.requests
    assert second.at - first.at >= 0.2
    assert attempts[0].delay_before_next is not None and attempts[0].delay_before_next >= 0.2


async def test_retry_after_http_date_is_honoured_up_to_the_cap(
    http_server: ScriptedHTTPServer,
) -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    http_server.script(error(503, "storage_unavailable", **{"Retry-After": later}), Reply(200, {}))
    attempts: list[Attempt] = []
    policy = RetryPolicy(base_delay=0.001, max_delay=0.001, max_retry_after=0.15)
    async with client_for(http_server.url, attempts, retry=policy) as client:
        await client.noop()
    assert attempts[0].delay_before_next == pytest.approx(0.15)
    assert http_server.requests[1].at - http_server.requests[0].at >= 0.15


async def test_exhausted_retries_report_attempts_and_last_error(
    http_server: ScriptedHTTPServer,
) -> None:
    http_server.default = error(503, "storage_unavailable")
    attempts: list[Attempt] = []
    async with client_for(http_server.url, attempts) as client:
        with pytest.raises(RetriesExhausted) as caught:
            await client.delete_task("t1")
    assert caught.value.attempts == 4 == len(http_server.requests)
    assert isinstance(caught.value.last_error, ServiceUnavailable)
    assert "max_attempts" in str(caught.value)
    assert attempts[-1].delay_before_next is None


async def test_the_deadline_stops_retrying(http_server: ScriptedHTTPServer) -> None:
    http_server.default = error(503)
    policy = RetryPolicy(max_attempts=None, base_delay=0.02, max_delay=0.02, deadline=0.2)
    started = time.monotonic()
    async with client_for(http_server.url, [], retry=policy) as client:
        with pytest.raises(RetriesExhausted, match="deadline"):
            await client.noop()
    assert time.monotonic() - started < 0.5
    assert len(http_server.requests) >= 2


async def test_the_deadline_cuts_a_hanging_attempt(
    raw_server: Callable[[list[str]], Awaitable[RawServer]],
) -> None:
    server = await raw_server(["hang"])
    attempts: list[Attempt] = []
    policy = RetryPolicy(max_attempts=3, deadline=0.2)
    started = time.monotonic()
    client = HTTPClient(server.url, retry=policy, observer=attempts.append, timeout=10.0)
    async with client:
        with pytest.raises(RetriesExhausted):
            await client.noop()
    assert time.monotonic() - started < 1.0
    assert [a.outcome for a in attempts] == ["DeadlineExceeded"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("behaviour", ["close", "reset", "partial", "hang"])
async def test_transport_failures_are_retried(
    raw_server: Callable[[list[str]], Awaitable[RawServer]], behaviour: str, transport: str
) -> None:
    server = await raw_server([behaviour, "ok"])
    attempts: list[Attempt] = []
    client = HTTPClient(
        server.url, retry=FAST, observer=attempts.append, timeout=0.3, transport=transport
    )  # type: ignore[arg-type]
    async with client:
        await client.noop()
    assert server.connections == 2
    failed, ok = attempts
    assert ok.outcome == "ok"
    assert issubclass(getattr(httpx, failed.outcome), httpx.TransportError)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_refused_connection_is_server_unreachable(
    closed_port_url: str, transport: str
) -> None:
    attempts: list[Attempt] = []
    client = HTTPClient(closed_port_url, retry=FAST, observer=attempts.append, transport=transport)  # type: ignore[arg-type]
    async with client:
        with pytest.raises(RetriesExhausted) as caught:
            await client.noop()
    last = caught.value.last_error
    assert isinstance(last, ServerUnreachable)
    assert isinstance(last.cause, httpx.ConnectError)
    assert {a.outcome for a in attempts} == {"ConnectError"} and len(attempts) == 4


async def test_non_retryable_transport_error_is_raised_at_once() -> None:
    attempts: list[Attempt] = []
    async with HTTPClient("ftp://127.0.0.1:1", retry=FAST, observer=attempts.append) as client:
        with pytest.raises(TransportError) as caught:
            await client.noop()
    assert not isinstance(caught.value, RetriesExhausted)
    assert len(attempts) == 1


async def test_observer_records_both_clocks_and_a_failing_observer_is_harmless(
    http_server: ScriptedHTTPServer,
) -> None:
    seen: list[Attempt] = []

    def observer(attempt: Attempt) -> None:
        seen.append(attempt)
        raise RuntimeError("observer bug")

    before = time.time()
    async with HTTPClient(http_server.url, observer=observer, client_id="me") as client:
        await client.noop()
    (attempt,) = seen
    assert before <= attempt.started_at <= attempt.ended_at <= time.time()
    assert attempt.duration >= 0 and attempt.operation == "noop" and attempt.client_id == "me"
