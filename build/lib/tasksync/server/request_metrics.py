"""Per-request counts and latencies in plain ints and floats, exported on scrape.

A prometheus_client Counter.labels().inc() plus Histogram.labels().observe() takes several
locks and label lookups per request, a measurable share of a small request on the event
loop. Requests are only counted on the event loop thread, so plain dicts suffice; the
scrape renders them under the same names, labels and buckets as the Counter and Histogram
they replace (tasksync_http_requests_total, tasksync_http_request_duration_seconds).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class _Latency:
    """One route's histogram: per-bucket (not cumulative) counts, the last one +Inf."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0


class RequestStats(Collector):
    """Counts requests by (method, route, status) and their latency by route."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str, int], int] = {}
        self._latency: dict[str, _Latency] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        latency = self._latency.get(route)
        if latency is None:
            latency = self._latency[route] = _Latency()
        # An observation equal to a bound belongs to that bucket (le), as in prometheus.
        latency.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        latency.total += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "tasksync_http_requests", "HTTP requests by route and status",
            labels=["method", "route", "status"],
        )
        for (method, route, status), count in list(self._requests.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "tasksync_http_request_duration_seconds", "Time to answer an HTTP request",
            labels=["route"],
        )
        bounds = [*(str(float(b)) for b in LATENCY_BUCKETS), "+Inf"]
        for route, histogram in list(self._latency.items()):
            cumulative, buckets = 0, []
            for bound, count in zip(bounds, histogram.counts, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric([route], buckets, histogram.total)
        yield latency
