"""The mcp study on a real stack at a small size: it passes on the server as built, and its
no_duplicate_tasks check catches the server that applies a retried write again."""

from __future__ import annotations

import pytest

from syncbench.studies.mcp import McpParams, run

pytestmark = pytest.mark.timeout(180)

SMALL = {"clients": 2, "calls": 20, "faults": ["cut_responses", "resets"], "fault_windows": 2,
         "fault_s": 1.5, "gap_s": 1.5, "seed": 5}


def _checks(result) -> dict[str, bool]:
    return {check.name: check.passed for check in result.checks}


async def test_the_study_passes_and_its_faults_bite() -> None:
    result = await run(McpParams(**SMALL))
    assert _checks(result) == dict.fromkeys(
        ["no_duplicate_tasks", "acknowledged_writes_kept", "every_call_answered",
         "sessions_recovered", "errors_only_under_faults", "faults_bite"], True), \
        result.checks_frame().to_string()
    assert result.metric("failed_attempts") > 0
    assert result.metric("sessions") > SMALL["clients"]  # re-initialised after failures


async def test_a_server_that_applies_retries_again_makes_duplicates() -> None:
    result = await run(McpParams(**SMALL, seeded_bug="ignore_idempotency"))
    assert _checks(result)["no_duplicate_tasks"] is False, result.checks_frame().to_string()
