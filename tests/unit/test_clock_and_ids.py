"""Protocol timestamps and new ids: their format, and the order they sort in."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasksync.clock import format_rfc3339, now_rfc3339, parse_rfc3339
from tasksync.ids import new_id
from tasksync.models import RFC3339_PATTERN

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


@settings(max_examples=2000, deadline=None)
@given(st.from_regex(RFC3339_PATTERN, fullmatch=True))
def test_every_time_the_published_pattern_allows_is_one_the_server_reads(stamp: str) -> None:
    # what the OpenAPI document calls a valid updated_at must not be refused with a 422
    assert stamp == "" or parse_rfc3339(stamp) is not None, stamp


@pytest.mark.parametrize("stamp", ["0000-01-01T01:45:01Z", "2023-02-29T00:00:00Z",
                                   "1900-02-29T00:00:00Z", "2024-04-31T00:00:00Z",
                                   "2024-01-01T00:00:00+24:00", "2024-01-01T24:00:00Z"])
def test_times_that_do_not_exist_are_outside_the_pattern(stamp: str) -> None:
    assert re.match(RFC3339_PATTERN, stamp) is None
    assert re.match(RFC3339_PATTERN, "2024-02-29T00:00:00Z")
