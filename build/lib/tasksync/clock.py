"""Protocol timestamps: RFC 3339 UTC with microseconds, comparable as strings.

Writing and reading them live together so that both sides agree on one format:
`now_rfc3339` (the server's clock, on every write), `format_rfc3339` (any instant, e.g. a
replica's possibly skewed client clock) and `parse_rfc3339`.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

_second: tuple[int, str] = (-1, "")  # the last whole second formatted (one write per tuple)


def now_rfc3339() -> str:
    """The current UTC time as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (sorts like the instant)."""
    global _second
    # This runs once per write: formatting the date and time only once per second makes it
    # a third of the cost of datetime.isoformat.
    second, nanos = divmod(time.time_ns(), 1_000_000_000)
    cached = _second
    if cached[0] != second:
        cached = _second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{cached[1]}.{nanos // 1000:06d}Z"


def format_rfc3339(moment: datetime) -> str:
    """`moment` as the protocol writes times (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(value: str) -> datetime | None:
    """The instant `value` names, or None when it is not an RFC 3339 timestamp."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_NEVER_SET = threading.Event()


def hold(seconds: float) -> None:
    """Block this thread for `seconds` (a slow disk on the storage thread). Waits on an
    event, not time.sleep: a server run under a preloaded clock shim (libfaketime with
    DONT_FAKE_MONOTONIC, as syncbench's clock fault runs it) fails time.sleep's absolute
    clock_nanosleep with EINVAL, and the write would fail instead of being slow."""
    if seconds > 0:
        _NEVER_SET.wait(seconds)

