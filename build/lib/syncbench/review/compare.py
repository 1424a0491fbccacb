"""Two runs side by side: which checks changed verdict, how each metric moved against the
noise its repeats show, and which parameters differ. Pure functions over the summaries a
`syncbench run` wrote; compare_page.py renders the result.

    comparison = compare_runs([load_run(a)], [load_run(b)])
    comparison.regressions      # checks that passed in the base and do not in the candidate

A side may be several runs of the same parameters (repeats): a metric's value is then their
median and its noise band the base side's min..max; a change outside the band is `beyond
noise`. With one run a side there is no band, and the change is shown without a judgement.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncbench.params import ParameterError

# how a check's verdict moving from base to candidate reads
REGRESSION, FIXED, CHANGED, ADDED, REMOVED = "regression", "fixed", "changed", "added", "removed"
_RANK = {"pass": 0, "unknown": 1, "fail": 2}


@dataclass(frozen=True)
class RunRecord:
    """One run's output directory, read: its id and each study's summary."""

    path: Path
    run_id: str
    status: str
    studies: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class CheckChange:
    study: str
    check: str
    before: str | None  # verdict in the base (None: the base has no such check)
    after: str | None
    kind: str
    message: str = ""


@dataclass(frozen=True)
class MetricChange:
    study: str
    metric: str
    unit: str
    before: float
    after: float
    band: tuple[float, float] | None  # the base side's min..max over its repeats

    @property
    def change(self) -> float:
        return self.after - self.before

    @property
    def ratio(self) -> float | None:
        return self.after / self.before if self.before else None

    @property
    def beyond_noise(self) -> bool | None:
        """Whether the candidate lies outside the base's band (None: no repeats, no band)."""
        if self.band is None:
            return None
        return not self.band[0] <= self.after <= self.band[1]


@dataclass(frozen=True)
class StudyComparison:
    study: str
    status_before: str | None
    status_after: str | None
    parameters: dict[str, tuple[Any, Any]]  # name -> (base, candidate), where they differ
    checks: list[CheckChange] = field(default_factory=list)
    metrics: list[MetricChange] = field(default_factory=list)


@dataclass(frozen=True)
class Comparison:
    base: list[RunRecord]
    candidate: list[RunRecord]
    studies: list[StudyComparison]

    @property
    def regressions(self) -> list[CheckChange]:
        return [c for s in self.studies for c in s.checks if c.kind == REGRESSION]

    @property
    def status_regressions(self) -> list[StudyComparison]:
        """Studies that ran in both and ended worse (pass -> fail, fail -> error, ...)."""
        order = ("pass", "unknown", "fail", "error", "interrupted")
        return [s for s in self.studies if s.status_before in order and s.status_after in order
                and order.index(s.status_after) > order.index(s.status_before)]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions or self.status_regressions)

    @property
    def regression_count(self) -> int:
        """Checks that regressed, and studies that ended worse with no check to show it (an
        error, an interrupt): each regression counted once."""
        return len(self.regressions) + sum(
            not any(c.kind == REGRESSION for c in study.checks)
            for study in self.status_regressions)


def load_run(path: Path) -> RunRecord:
    """The run in output directory `path`; ParameterError saying what to give otherwise."""
    path = Path(path)
    if (path / "zoo.json").is_file():
        raise ParameterError(f"{path} is a `syncbench zoo` run; give `syncbench run` output "
                             "directories")
    summary_file = path / "summary.json"
    if not summary_file.is_file():
        raise ParameterError(f"{path} is not a run's output directory (no summary.json); "
                             "give what `syncbench run` printed after `open`, without "
                             "index.html")
    summary = _json(summary_file)
    studies: dict[str, dict[str, Any]] = {}
    for entry in summary.get("studies", []):
        name = entry.get("study")
        own = path / f"{name}.summary.json"
        studies[str(name)] = _json(own) if own.is_file() else entry
    return RunRecord(path, str(summary.get("run_id", path.name)), str(summary.get("status")),
                     studies)


def compare_runs(base: list[RunRecord], candidate: list[RunRecord]) -> Comparison:
    """Compare the studies of the base run(s) with the candidate run(s) (the first run of a
    side names its verdicts and parameters; every run of a side gives metric values)."""
    if not base or not candidate:
        raise ParameterError("compare needs at least one run on each side")
    names = list(dict.fromkeys([*base[0].studies, *candidate[0].studies]))
    return Comparison(base, candidate, [_study(name, base, candidate) for name in names])


def _study(name: str, base: list[RunRecord], candidate: list[RunRecord]) -> StudyComparison:
    before, after = base[0].studies.get(name), candidate[0].studies.get(name)
    return StudyComparison(
        study=name,
        status_before=before.get("status") if before else None,
        status_after=after.get("status") if after else None,
        parameters=_parameter_changes(before, after),
        checks=_check_changes(name, before, after),
        metrics=_metric_changes(name, [r.studies.get(name) for r in base],
                                [r.studies.get(name) for r in candidate]),
    )


def _check_changes(study: str, before: dict[str, Any] | None,
                   after: dict[str, Any] | None) -> list[CheckChange]:
    old = {c["name"]: c for c in (before or {}).get("checks", [])}
    new = {c["name"]: c for c in (after or {}).get("checks", [])}
    changes = []
    for name in dict.fromkeys([*old, *new]):
        was, now = _verdict(old.get(name)), _verdict(new.get(name))
        if was == now:
            continue
        if was is None:
            kind = ADDED
        elif now is None:
            kind = REGRESSION if was == "pass" and after is not None else REMOVED
        elif _RANK.get(now, 2) > _RANK.get(was, 2):
            kind = REGRESSION
        elif now == "pass":
            kind = FIXED
        else:
            kind = CHANGED
        message = str((new.get(name) or old.get(name) or {}).get("message") or "")
        changes.append(CheckChange(study, name, was, now, kind, message))
    return changes


def _verdict(check: dict[str, Any] | None) -> str | None:
    if check is None:
        return None
    return str(check.get("verdict") or ("pass" if check.get("passed") else "fail"))


def _metric_changes(study: str, base: list[dict[str, Any] | None],
                    candidate: list[dict[str, Any] | None]) -> list[MetricChange]:
    base_values, units = _values(base)
    candidate_values, candidate_units = _values(candidate)
    changes = []
    for name, values in base_values.items():
        if name not in candidate_values:
            continue
        band = (min(values), max(values)) if len(values) > 1 else None
        changes.append(MetricChange(study, name, units.get(name) or candidate_units.get(name, ""),
                                    statistics.median(values),
                                    statistics.median(candidate_values[name]), band))
    return changes


def numeric_metrics(summary: dict[str, Any] | None) -> Iterator[tuple[str, float, str]]:
    """(name, value, unit) of each metric of a study summary whose value is a number (a
    text or missing value has no change or trend to show)."""
    for name, metric in ((summary or {}).get("metrics") or {}).items():
        value = metric.get("value") if isinstance(metric, dict) else metric
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        yield name, float(value), str(metric.get("unit", "")) if isinstance(metric, dict) else ""


def _values(summaries: list[dict[str, Any] | None]) -> tuple[dict[str, list[float]],
                                                            dict[str, str]]:
    values: dict[str, list[float]] = {}
    units: dict[str, str] = {}
    for summary in summaries:
        for name, value, unit in numeric_metrics(summary):
            if math.isfinite(value):  # NaN or infinity: no change to show
                values.setdefault(name, []).append(value)
                units[name] = unit
    return values, units


def _parameter_changes(before: dict[str, Any] | None,
                       after: dict[str, Any] | None) -> dict[str, tuple[Any, Any]]:
    old = dict((before or {}).get("parameters") or {})
    new = dict((after or {}).get("parameters") or {})
    old.pop("output_dir", None)
    new.pop("output_dir", None)
    return {name: (old.get(name), new.get(name)) for name in dict.fromkeys([*old, *new])
            if old.get(name) != new.get(name)}


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParameterError(f"{path}: not a readable run summary ({exc})") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: not a run summary (expected a JSON object)")
    return data


__all__ = ["ADDED", "CHANGED", "FIXED", "REGRESSION", "REMOVED", "CheckChange", "Comparison",
           "MetricChange", "RunRecord", "StudyComparison", "compare_runs", "load_run",
           "numeric_metrics"]
