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
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation.meta import CoveragePhaseData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tasksync.server.config import ServerConfig
from tasksync.server.middleware.circuit_breaker import BreakerConfig
from tasksync.server.middleware.rate_limit import RateLimitConfig
from tasksync.server.openapi import openapi_document
from tests.support.servers import ServerThread

DOCUMENT = msgspec.json.encode(openapi_document(fault_injection=True))
CONFIG = schemathesis.config.SchemathesisConfig.from_dict({
    # The server ignores query parameters it does not know (forward compatibility).
    "generation": {"allow-extra-parameters": False, "deterministic": True},
    # 426 is how the protocol rejects an X-Client-Version outside the documented pattern.
    "checks": {
        "negative_data_rejection": {"expected-statuses": [
            400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 426, 428, 429,
        ]},
        # 412 is the answer to a stale If-Match: valid, but no longer true.
        "positive_data_acceptance": {"expected-statuses": [
            "2XX", "3XX", 401, 403, 404, 409, 412, 429,
        ]},
    },
})
MAX_EXAMPLES = 100  # per operation and generation mode; the module runs in well under 2 min
CLIENT_VERSION = re.compile(r"^1\.[0-9]+\.[0-9]+$")
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


@pytest.fixture(autouse=True)
def no_injected_faults(fuzzed_server: ServerThread) -> None:
    """Each operation starts with healthy storage, whatever the fault routes were fuzzed with."""
    httpx.delete(f"{fuzzed_server.base_url}/api/v1/admin/faults", timeout=5).raise_for_status()


def test_fuzzed_document_is_what_the_server_serves(fuzzed_server: ServerThread) -> None:
    response = httpx.get(f"{fuzzed_server.base_url}/openapi.json", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.content == DOCUMENT


@pytest.mark.parametrize("path", sorted(msgspec.json.decode(DOCUMENT)["paths"]))
def test_an_undeclared_method_gets_405_allowing_every_declared_one(
    fuzzed_server: ServerThread, path: str
) -> None:
    declared = {m.upper() for m in msgspec.json.decode(DOCUMENT)["paths"][path]}
    url = fuzzed_server.base_url + re.sub(r"\{[^}]+\}", "x", path)
    response = httpx.put(url, timeout=5)
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert declared <= allowed <= declared | {"HEAD"}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_its_openapi_document(
    case: schemathesis.Case, fuzzed_server: ServerThread
) -> None:
    _replace_placeholder_client_version(case)
    response = case.call(base_url=fuzzed_server.base_url)
    excluded = [positive_data_acceptance] if _deliberate_refusal(response) else None
    case.validate_response(response, excluded_checks=excluded)


def _deliberate_refusal(response: requests.Response) -> bool:
    """A 422 the server gives on purpose to a request the document calls valid.

    Generated Idempotency-Keys repeat across requests, and a key reused for another request
    is refused (idempotency_key_reused). JSON Schema counts 3.0 as an integer; the server
    decodes strictly and wants 3.
    """
    return response.status_code == 422 and (
        b"idempotency_key_reused" in response.content
        or b"Expected `int`, got `float`" in response.content
    )


def _replace_placeholder_client_version(case: schemathesis.Case) -> None:
    """Give a coverage-phase case a valid X-Client-Version unless the version is under test.

    The coverage phase ignores header patterns and fills X-Client-Version with placeholders
    like "0"; the server then answers 426 before looking at what the case meant to test.
    """
    version = (case.headers or {}).get("X-Client-Version")
    phase = case.meta.phase.data if case.meta is not None else None
    if (version is not None and not CLIENT_VERSION.match(version)
            and isinstance(phase, CoveragePhaseData) and phase.parameter != "X-Client-Version"):
        case.headers["X-Client-Version"] = "1.0.0"
