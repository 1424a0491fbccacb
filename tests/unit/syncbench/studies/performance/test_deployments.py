"""The deployment comparison's parsing, figures and delivery check, on hand-made rows."""

from __future__ import annotations

import pandas as pd
import pytest

from syncbench.stats import latency_summary
from syncbench.studies.performance.analysis import every_replica_delivered
from syncbench.studies.performance.deployments import deployment_figures, parse_deployment
from syncbench.studies.performance.params import PerformanceParams
from syncbench.study import StudyParamError


def test_deployments_are_sqlite_or_postgresql_with_replicas() -> None:
    assert parse_deployment("sqlite") == ("sqlite", 1)
    assert parse_deployment("postgresql") == ("postgresql", 1)
    assert parse_deployment("postgresql x3") == ("postgresql", 3)
    assert parse_deployment("qdrant") == ("qdrant", 1)
    for bad in ("sqlite x2", "qdrant x2", "postgresql x9", "mysql", "postgresql 3"):
        with pytest.raises(ValueError, match="'postgresql x3'"):
            parse_deployment(bad)


@pytest.mark.parametrize(("deployments", "message"), [
    (["postgresql", "sqlite"], "'sqlite' first"),
    (["sqlite", "sqlite"], "each deployment once"),
    (["sqlite", "oracle"], "deployment 'oracle'"),
])
def test_bad_deployments_are_refused(deployments: list[str], message: str) -> None:
    with pytest.raises(StudyParamError, match=message):
        PerformanceParams(deployments=deployments)


def test_each_ratio_is_to_the_sqlite_server_of_the_same_repeat() -> None:
    rows = pd.DataFrame([
        {"deployment": "sqlite", "repeat": 0, "creates_per_s": 1000.0, "failed": 0},
        {"deployment": "sqlite", "repeat": 1, "creates_per_s": 500.0, "failed": 0},
        {"deployment": "postgresql x2", "repeat": 0, "creates_per_s": 400.0, "failed": 0},
        {"deployment": "postgresql x2", "repeat": 1, "creates_per_s": 400.0, "failed": 1},
    ])
    figures = deployment_figures(rows).set_index("deployment")
    assert figures.loc["sqlite", "ratio_to_sqlite"] == 1.0
    # ratios 0.4 and 0.8 (not 400 / median(750))
    assert figures.loc["postgresql x2", "ratio_to_sqlite"] == pytest.approx(0.6)
    assert figures.loc["postgresql x2", "failed"] == 1


def test_batch_sync_times_are_over_sqlite_of_the_same_repeat_and_a_failed_one_is_left_out(
) -> None:
    rows = pd.DataFrame([
        {"deployment": "sqlite", "repeat": 0, "creates_per_s": 1.0, "failed": 0,
         "batch_sync_s": 0.5},
        {"deployment": "sqlite", "repeat": 1, "creates_per_s": 1.0, "failed": 0,
         "batch_sync_s": 1.0},
        {"deployment": "qdrant", "repeat": 0, "creates_per_s": 1.0, "failed": 0,
         "batch_sync_s": 5.0},
        {"deployment": "qdrant", "repeat": 1, "creates_per_s": 1.0, "failed": 0,
         "batch_sync_s": None},
    ])
    figures = deployment_figures(rows).set_index("deployment")
    assert figures.loc["qdrant", "batch_sync_s"] == 5.0
    assert figures.loc["qdrant", "batch_ratio_to_sqlite"] == 10.0  # repeat 1 failed: left out
    assert figures.loc["sqlite", "batch_ratio_to_sqlite"] == 1.0


def test_a_subscriber_short_of_events_fails_the_delivery_check() -> None:
    params = PerformanceParams(deployments=["sqlite", "postgresql x2"], deployment_events=3)
    full = pd.DataFrame([{"deployment": "postgresql x2", "path": path, "latency_ms": 1.0}
                         for path in ("same replica", "cross replica") for _ in range(3)])
    assert every_replica_delivered(full, params).passed
    short = full.iloc[:-1]
    check = every_replica_delivered(short, params)
    assert not check.passed and check.counterexample == [
        {"deployment": "postgresql x2", "path": "cross replica", "got": 2, "wanted": 3}]
    summary = latency_summary(full, ["deployment", "path"], sort=False).set_index("path")
    assert summary.loc["cross replica", "events"] == 3
