"""Metrics of a run: named as before, each with its unit; notes when the client was the limit."""

from __future__ import annotations

import pandas as pd
import pytest

from syncbench.metric import MIB, MS, PER_S, RATIO, TIMES, S
from syncbench.studies.performance import PerformanceParams
from syncbench.studies.performance.analysis import metrics
from tests.unit.syncbench.studies.performance.frames import creation_frame, figures, memory_runs


def data(client_share: float = 0.3) -> dict[str, pd.DataFrame]:
    noop = pd.DataFrame({"mode": ["direct", "direct", "proxied", "proxied", "lan"],
                         "sample": [0, 1, 0, 1, 0], "latency_ms": [1.0, 3.0, 2.0, 4.0, 5.0]})
    creation = creation_frame([2.0], [1.0]).assign(client_cpu_share=client_share)
    return {"noop_latency": noop, "creation": creation, "memory_runs": memory_runs(),
            "figures": figures()}


def test_metrics_carry_their_units_from_where_they_are_made() -> None:
    measured, notes = metrics(PerformanceParams(profiles=("lan",)), data())
    assert measured["noop_direct_ms"].value == 2.0 and measured["noop_direct_ms"].unit == MS
    assert measured["toxiproxy_added_ms"].value == pytest.approx(1.0)
    assert measured["noop_lan_ms"].unit == MS
    assert measured["create.lan.w10.value"].unit == PER_S
    assert measured["create.lan.w10.ratio"].unit == TIMES
    assert measured["batch.lan.n100.value"].unit == S
    assert measured["fanout_p99.lan.s10.value"].unit == MS
    assert "fanout_p90.lan.s10.value" not in measured  # reported in figures only
    assert measured["rss.lan.value"].unit == MIB and measured["rss_peak_mib"].unit == MIB
    assert measured["noise_rel_spread_max"].unit == RATIO
    assert measured["client_cpu_share_max"].value == pytest.approx(0.3)
    assert measured["server_cpu_share_max"].value == pytest.approx(0.5)
    assert notes == []


def test_a_busy_load_generator_is_noted() -> None:
    _, notes = metrics(PerformanceParams(profiles=("lan",)), data(client_share=0.95))
    assert len(notes) == 1 and "95% of a core" in notes[0] and "10 workers" in notes[0]
