"""Protocol timestamps and new ids: their format, and the order they sort in."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone

from tasksync.clock import format_rfc3339, now_rfc3339, parse_rfc3339
from tasksync.ids import new_id

RFC3339_MICROS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def test_now_is_rfc3339_utc_with_microseconds_and_the_current_instant() -> None:
    before = datetime.now(UTC)
    stamp = now_rfc3339()
    after = datetime.now(UTC)
    assert RFC3339_MICROS.match(stamp), stamp
    parsed = parse_rfc3339(stamp)
    assert parsed is not None and before <= parsed <= after


def test_timestamps_sort_as_strings_like_the_instants_across_seconds() -> None:
    first = previous = now_rfc3339()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        stamp = now_rfc3339()
        assert stamp >= previous and parse_rfc3339(stamp) >= parse_rfc3339(previous)
        previous = stamp
        if stamp[:19] != first[:19]:  # the second changed: the cached part moved on
            return
    raise AssertionError("the second never changed within 3 s")


def test_new_ids_are_32_hex_digits_unique_and_in_creation_order_by_millisecond() -> None:
    ids = [new_id() for _ in range(2000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    milliseconds = [int(i[:12], 16) for i in ids]  # UUIDv7: the first 48 bits
    assert milliseconds == sorted(milliseconds)
    assert abs(milliseconds[-1] - time.time() * 1000) < 5000


def test_a_formatted_instant_parses_back_to_itself() -> None:
    moment = datetime(2026, 11, 26, 2, 11, 29, 123456, tzinfo=UTC)
    stamp = format_rfc3339(moment)
    assert stamp == "2026-11-26T02:11:29.123456Z"
    assert parse_rfc3339(stamp) == moment


def test_formatting_converts_to_utc_and_takes_a_naive_time_as_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert format_rfc3339(datetime(2026, 1, 1, 2, 0, tzinfo=plus_two)) == "2026-01-01T00:00:00.000000Z"
    assert format_rfc3339(datetime(2026, 1, 1, 0, 0)) == "2026-01-01T00:00:00.000000Z"
