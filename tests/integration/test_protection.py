"""Server protection over real HTTP: circuit breaker, rate limit, body limit, client version,
fault injection, storage timeouts."""

from __future__ import annotations

import httpx
import pytest

from tasksync.server.middleware.circuit_breaker import BreakerConfig
from tasksync.server.middleware.rate_limit import RateLimitConfig
from tests.support.wait import wait_until_async


async def test_storage_faults_open_the_breaker_then_it_recovers(start_server) -> None:
    server = start_server(breaker=BreakerConfig(window_size=10, failure_threshold=5,
                                                open_seconds=0.3, half_open_max_calls=2))
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await http.post("/api/v1/admin/faults", json={"storage_error_rate": 1.0, "seed": 1})
        statuses = [(await http.get("/api/v1/tasks", params={"repository": "r"})).status_code
                    for _ in range(8)]
        assert statuses[:5] == [503] * 5
        open_reply = await http.get("/api/v1/tasks", params={"repository": "r"})
        assert open_reply.json()["error"] == "circuit_open"
        assert int(open_reply.headers["retry-after"]) >= 1
        assert (await http.get("/api/v1/admin/breaker")).json()["state"] == "open"

        await http.delete("/api/v1/admin/faults")

        async def closed() -> bool:
            response = await http.get("/api/v1/tasks", params={"repository": "r"})
            state = (await http.get("/api/v1/admin/breaker")).json()["state"]
            return response.status_code == 200 and state == "closed"

        await wait_until_async(closed, interval=0.02, message="breaker closed again")
        snapshot = (await http.get("/api/v1/admin/breaker")).json()
        path = [(t["from"], t["to"]) for t in snapshot["transitions"]]
        assert path == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
        assert all(t["at_unix"] > 0 for t in snapshot["transitions"])
        metrics = (await http.get("/metrics")).text
        assert 'tasksync_breaker_transitions_total{from_state="half_open",to_state="closed"} 1.0' in metrics
        assert 'tasksync_breaker_state{state="closed"} 1.0' in metrics


async def test_open_breaker_answers_without_touching_storage(start_server) -> None:
    server = start_server(breaker=BreakerConfig(window_size=4, failure_threshold=2, open_seconds=60))
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await http.post("/api/v1/admin/faults", json={"storage_error_rate": 1.0})
        for _ in range(2):
            await http.post("/api/v1/tasks", json={"repository": "r", "content": "x"})
        await http.delete("/api/v1/admin/faults")
        refused = await http.post("/api/v1/tasks", json={"repository": "r", "content": "never"})
        assert refused.status_code == 503 and refused.json()["error"] == "circuit_open"
        log = (await http.get("/health")).json()
        assert log["storage"] == "ok"
    assert server.app.state.service.store.list_tasks("r", 0, 10, True)[0] == []


async def test_storage_delay_beyond_timeout_gives_504(start_server) -> None:
    server = start_server(storage_timeout=0.05)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await http.post("/api/v1/admin/faults", json={"storage_delay_ms": 200})
        response = await http.get("/api/v1/tasks", params={"repository": "r"})
        assert response.status_code == 504 and response.json()["error"] == "storage_timeout"
        health = await http.get("/health")
        assert health.status_code == 503
        await http.delete("/api/v1/admin/faults")


async def test_injected_error_is_503_storage_unavailable_and_writes_nothing(server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await http.post("/api/v1/admin/faults", json={"storage_error_rate": 1.0})
        failed = await http.post("/api/v1/tasks", json={"repository": "r", "content": "x"})
        await http.delete("/api/v1/admin/faults")
        assert failed.status_code == 503 and failed.json()["error"] == "storage_unavailable"
        assert failed.headers["retry-after"] == "1"
        assert (await http.get("/api/v1/repositories/r/changes")).json()["last_seq"] == 0


async def test_fault_settings_are_validated_and_readable(server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        bad = await http.post("/api/v1/admin/faults", json={"storage_error_rate": 2})
        assert bad.status_code == 422 and bad.json()["field"] == "$.storage_error_rate"
        await http.post("/api/v1/admin/faults", json={"storage_delay_ms": 5})
        assert (await http.get("/api/v1/admin/faults")).json()["storage_delay_ms"] == 5


async def test_fault_endpoint_does_not_exist_unless_enabled(start_server) -> None:
    server = start_server(enable_fault_injection=False)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        assert (await http.post("/api/v1/admin/faults", json={"storage_error_rate": 1})).status_code == 404
        assert "/api/v1/admin/faults" not in (await http.get("/openapi.json")).json()["paths"]


async def test_client_over_its_budget_gets_429_with_retry_after(start_server) -> None:
    server = start_server(rate_limit=RateLimitConfig(rate=1, burst=3))
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        greedy = [await http.post("/api/v1/noop", headers={"X-Client-ID": "greedy"}) for _ in range(4)]
        assert [r.status_code for r in greedy] == [200, 200, 200, 429]
        assert greedy[-1].json()["error"] == "rate_limited"
        assert greedy[-1].headers["retry-after"] == "1"
        polite = await http.post("/api/v1/noop", headers={"X-Client-ID": "polite"})
        assert polite.status_code == 200
        assert "tasksync_rate_limited_total 1.0" in (await http.get("/metrics")).text


async def test_rate_limited_requests_do_not_trip_the_breaker(start_server) -> None:
    server = start_server(rate_limit=RateLimitConfig(rate=0.001, burst=1),
                          breaker=BreakerConfig(window_size=2, failure_threshold=1))
    async with httpx.AsyncClient(base_url=server.base_url, headers={"X-Client-ID": "c"}) as http:
        for _ in range(5):
            await http.get("/api/v1/tasks", params={"repository": "r"})
    assert server.app.state.breaker.state == "closed"


@pytest.mark.parametrize("version, status", [("1.4.2", 200), ("v1.0", 200), ("2.0.0", 426),
                                             ("0.9.0", 426), ("banana", 426)])
async def test_client_version_major_is_checked(server, version: str, status: int) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post("/api/v1/noop", headers={"X-Client-Version": version})
    assert response.status_code == status
    if status == 426:
        assert response.json()["error"] == "client_version_unsupported"
        assert "upgrade" in response.json()["message"]


async def test_oversized_bodies_get_413_announced_or_streamed(start_server) -> None:
    server = start_server(max_body_bytes=1000)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        announced = await http.post("/api/v1/tasks", content=b"x" * 2000,
                                    headers={"content-type": "application/json"})

        async def chunks():
            for _ in range(4):
                yield b"y" * 400

        streamed = await http.post("/api/v1/tasks", content=chunks())
        small = await http.post("/api/v1/tasks", json={"repository": "r", "content": "ok"})
    assert announced.status_code == 413 and announced.json()["error"] == "body_too_large"
    assert streamed.status_code == 413
    assert small.status_code == 201
