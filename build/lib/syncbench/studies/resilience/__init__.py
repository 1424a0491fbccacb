"""Resilience study: clients working through network faults, and the server protecting itself.

Three phases, one History:

1. Network faults. For each named fault (a profile of params/profiles.yaml, or one given in
   `custom_profiles`) a segment of `lead_seconds` clean, `fault_seconds` with the fault on
   the clients' Toxiproxy proxy, and `recover_seconds` clean. HTTP clients with a
   RetryPolicy create and update tasks all along; a bulk client writes one
   `large_task_bytes` task as each fault starts; WebSocket clients follow the change feed
   through the same proxy and resume after every disconnect.
2. Server protection. An injected storage fault (error rate, delay) opens the server's
   circuit breaker; while open it answers 503 at once; half-open trials probe; it closes
   once storage is healthy again. Its own transition log is the evidence.
3. Rate limiting. On a second server started with a low --rate-limit/--rate-burst, one
   greedy client goes over its budget, gets 429 with Retry-After and must wait that long.

The network windows and the storage fault are one schedule (`faults.study_schedule`),
played by the Nemesis and recorded in the History; `schedule` replaces it (`--replay`).
Operations are placed in fault segments from the windows in the History. A check whose
fault never reached its code path (no request during a window, a breaker that never opened,
no retried create, no retried 429) is UNKNOWN, not PASS.

    params      ResilienceParams
    faults      the study's fault schedule from its params
    workload    each client's seeded plan and the coroutines that play it
    phases      the stacks, the nemesis, heal -> quiesce -> final reads
    timeline    segments and periods (before/during/after/recovered) from fault windows
    checks      the study's own checks
    analysis    frames, metrics, checks
    result      ResilienceResult and its chart data
    charts      the notebook's figures
"""

from __future__ import annotations

from syncbench.studies.resilience import charts
from syncbench.studies.resilience.analysis import analyse
from syncbench.studies.resilience.faults import schedule_to_play
from syncbench.studies.resilience.params import ResilienceParams
from syncbench.studies.resilience.phases import observe
from syncbench.studies.resilience.result import ResilienceResult
from syncbench.study import Study, enable_seeded_bug, register


async def run(params: ResilienceParams) -> ResilienceResult:
    """Run the study on fresh stacks: its frames, checks, metrics and the schedule played."""
    with enable_seeded_bug(params):  # a client or replica bug is on for this run only
        return await _run(params)


async def _run(params: ResilienceParams) -> ResilienceResult:
    schedule = schedule_to_play(params)
    print(f"resilience: seed {params.seed}, faults {', '.join(params.faults) or 'none'}"
          f"{' (schedule given)' if params.schedule else ''}"
          f"{', seeded bug ' + params.seeded_bug if params.seeded_bug else ''}", flush=True)
    result = analyse(params, await observe(params, schedule))
    failed = [c.name for c in result.checks if not c.passed]
    print(f"resilience: done in {result.ended - result.started:.1f} s; "
          f"{'all checks pass' if not failed else 'NOT PASSED: ' + ', '.join(failed)}",
          flush=True)
    return result


STUDY = register(Study("resilience", ResilienceParams, run, "resilience.ipynb",
                       "clients through network faults; breaker and rate limit protecting "
                       "the server"))

__all__ = ["STUDY", "ResilienceParams", "ResilienceResult", "charts", "run"]
