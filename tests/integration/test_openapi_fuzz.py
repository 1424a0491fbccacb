"""Property-based fuzzing of every operation in the server's own OpenAPI document.

Schemathesis generates valid and invalid requests from the document the server publishes at
/openapi.json; every response must be no 5xx and must conform to that document (a
documented status code, its content type, and a body matching its schema).

The document is loaded at import so that each operation becomes its own test; the first
test proves it is byte for byte what the running server serves. (schemathesis's lazy
`from_fixture` loader does not work with pytest 9.)
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tasksync.server.config import ServerConfig
from tasksync.server.middleware.circuit_breaker import BreakerConfig
from tasksync.server.middleware.rate_limit import RateLimitConfig
from tasksync.server.openapi import openapi_document
from tests.support.servers import ServerThread

DOCUMENT = msgspec.json.encode(openapi_document(fault_injection=True))
# 426 is how the protocol rejects an X-Client-Version outside the documented pattern. The
# coverage phase also sends ones like "0" as if valid (it ignores header patterns), so 426
# is accepted for "valid" requests too: the header is the only thing that can cause it.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict({
    "checks": {
        "negative_data_rejection": {"expected-statuses": [
            400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 426, 428, 429,
        ]},
        "positive_data_acceptance": {"expected-statuses": [
            "2XX", "3XX", 401, 403, 404, 409, 426, 429,
        ]},
    },
})
schema = schemathesis.openapi.from_dict(msgspec.json.decode(DOCUMENT), config=CONFIG)

# Fuzzing must meet the API itself, not the load shedding in front of it: no rate limit, and
# a breaker whose threshold no run of generated requests can reach.
FUZZ_BREAKER = BreakerConfig(window_size=1_000_000, failure_threshold=1_000_000)


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """One server for the whole module, with the fault injection routes published."""
    db_path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    config = dataclasses.replace(
        ServerConfig(db_path=db_path, enable_fault_injection=True),
        rate_limit=RateLimitConfig(enabled=False),
        breaker=FUZZ_BREAKER,
    )
    server = ServerThread(config).start()
    yield server
    server.stop()


def test_fuzzed_document_is_what_the_server_serves(fuzzed_server: ServerThread) -> None:
    response = httpx.get(f"{fuzzed_server.base_url}/openapi.json", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.content == DOCUMENT


@schema.parametrize()
@settings(max_examples=40, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_its_openapi_document(
    case: schemathesis.Case, fuzzed_server: ServerThread
) -> None:
    key = (case.headers or {}).get("Idempotency-Key")
    if key is not None and 0 < len(key) <= 100:
        # A client uses a fresh key per logical request; a generated key reused for another
        # request would rightly get 422 idempotency_key_reused.
        case.headers["Idempotency-Key"] = f"{key}-{uuid.uuid4().hex}"
    print("META", case.headers, case.meta)
    case.call_and_validate(base_url=fuzzed_server.base_url)
