"""What a study notebook hands the runner: its checks, metrics, raw data and environment.

A study ends with::

    report = Report(study="example", output_dir=output_dir, parameters={...}, seed=seed)
    report.check(result)                   # a CheckResult per check
    report.metric("p99_ms", 123.4, unit="ms")
    report.data("latencies", frame)        # <output_dir>/example.latencies.csv
    report.minimal = {...}                 # a shrunk failing run (syncbench.minimal), if any
    report.save()                          # <output_dir>/example.results.json
    report                                 # shows the verdict table in the notebook

The runner reads the results file back with `load_results`; nothing else is shared.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

from syncbench.metric import Metric
from syncbench.minimal import completed_record, minimal_file, minimal_path
from syncbench.plain import json_ready
from syncbench.verdict import CheckResult, overall

RESULTS_SUFFIX = ".results.json"


def results_path(output_dir: str | Path, study: str) -> Path:
    """Return where a study's results file lives in `output_dir`."""
    return Path(output_dir) / f"{study}{RESULTS_SUFFIX}"


def load_results(output_dir: str | Path, study: str) -> dict[str, Any]:
    """Return the results a study saved; FileNotFoundError when it saved none."""
    return json.loads(results_path(output_dir, study).read_text(encoding="utf-8"))


class Report:
    """The verdict and evidence of one study run, saved as `<study>.results.json`."""

    def __init__(
        self,
        study: str,
        output_dir: str | Path = ".",
        parameters: dict[str, Any] | None = None,
        seed: int | None = None,
        environment: dict[str, Any] | None = None,
    ) -> None:
        self.study = study
        self.output_dir = Path(output_dir)
        self.parameters = dict(parameters or {})
        self.seed = seed
        # e.g. {"toxiproxy_version": "2.12.0"}: copied into the run summary as is
        self.environment: dict[str, Any] = dict(environment or {})
        self.checks: list[CheckResult] = []
        self.metrics: dict[str, Metric] = {}
        self.data_files: dict[str, str] = {}
        # the fault schedule as played (syncbench.nemesis), what `--replay` plays again
        self.schedule: list[dict[str, Any]] = []
        # a failing generated run shrunk to a minimal one (syncbench.minimal), or None
        self.minimal: dict[str, Any] | None = None
        # each declared path its faults must exercise: {name: {description, count}}
        self.paths: dict[str, dict[str, Any]] = {}

    @property
    def passed(self) -> bool:
        """True when every recorded check passed."""
        return all(result.passed for result in self.checks)

    @property
    def status(self) -> str:
        """fail if a check failed, else unknown if one is unknown, else pass."""
        return overall(result.verdict for result in self.checks)

    def check(self, result: CheckResult) -> CheckResult:
        """Record a check's result and return it (so a cell can show it)."""
        if not isinstance(result, CheckResult):
            raise TypeError(f"report.check() takes a CheckResult, got {type(result).__name__}")
        if any(existing.name == result.name for existing in self.checks):
            raise ValueError(f"check {result.name!r} was already recorded in study {self.study!r}")
        self.checks.append(result)
        return result

    def metric(self, name: str, value: Any, unit: str = "") -> Metric:
        """Record (or replace) a named metric and return it."""
        metric = value if isinstance(value, Metric) else Metric(name, value, unit)
        self.metrics[name] = metric
        return metric

    def data(self, name: str, frame: pd.DataFrame) -> Path:
        """Write the raw data behind a chart as `<output_dir>/<study>.<name>.csv`; return its path."""
        if not name or any(char in name for char in "/\\") or name.startswith("."):
            raise ValueError(f"data name {name!r} must be a plain file-name part like 'latencies'")
        path = self.output_dir / f"{self.study}.{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        self.data_files[name] = path.name
        return path

    def to_dict(self) -> dict[str, Any]:
        """Return the results as the plain, JSON-ready dict `save` writes."""
        return {
            "study": self.study,
            "status": self.status,
            "parameters": self.parameters,
            "seed": self.seed,
            "checks": [result.to_dict() for result in self.checks],
            "metrics": {
                metric.name: {"value": metric.value, "unit": metric.unit}
                for metric in self.metrics.values()
            },
            "data_files": dict(self.data_files),
            "schedule": list(self.schedule),
            "paths": dict(self.paths),
            "minimal": (completed_record(self.minimal, self.study, self.output_dir)
                        if self.minimal else None),
            "environment": self.environment,
        }

    def save(self) -> Path:
        """Write `<output_dir>/<study>.results.json` (and `<study>.minimal.json` when there
        is a minimal failing case) and return the results file's path."""
        path = results_path(self.output_dir, self.study)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = self.to_dict()
        _write_json(path, data)
        if data["minimal"]:
            _write_json(minimal_path(self.output_dir, self.study),
                        minimal_file(self.study, self.seed, self.parameters, data["minimal"]))
        return path

    def show(self) -> None:
        """Display the verdict table in the running notebook."""
        from IPython.display import display

        display(self)

    def _repr_html_(self) -> str:
        return verdict_table_html(
            self.study, self.status, [c.to_dict() for c in self.checks], self.metrics.values()
        )

    def __repr__(self) -> str:
        failed = sum(not result.passed for result in self.checks)
        return (
            f"Report(study={self.study!r}, status={self.status!r}, "
            f"checks={len(self.checks)}, failed={failed}, metrics={len(self.metrics)})"
        )


_VERDICT_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "error": "#9a6700",
                    "unknown": "#8250df"}


def verdict_table_html(
    study: str, status: str, checks: list[dict[str, Any]], metrics: Any = ()
) -> str:
    """Return an HTML table of each check's verdict, observed and expected value."""
    colour = _VERDICT_COLOURS.get(status, "#57606a")
    rows = "".join(
        "<tr>"
        f"<td>{_esc(check['name'])}</td>"
        f"<td style='color:{_VERDICT_COLOURS.get(check['verdict'], '#57606a')};"
        f"font-weight:bold'>{check['verdict'].upper()}</td>"
        f"<td>{_esc(check['observed'])}</td><td>{_esc(check['expected'])}</td>"
        f"<td>{_esc(check.get('message', ''))}</td>"
        "</tr>"
        for check in checks
    )
    metric_rows = "".join(
        f"<tr><td>{_esc(m.name)}</td><td>{_esc(m.value)}</td><td>{_esc(m.unit)}</td></tr>"
        for m in metrics
    )
    parts = [
        f"<h3>{_esc(study)}: <span style='color:{colour}'>{status.upper()}</span></h3>",
        "<table><thead><tr><th>check</th><th>verdict</th><th>observed</th>"
        f"<th>expected</th><th>note</th></tr></thead><tbody>{rows}</tbody></table>"
        if checks
        else "<p>No checks recorded.</p>",
    ]
    if metric_rows:
        parts.append(
            "<table><thead><tr><th>metric</th><th>value</th><th>unit</th></tr></thead>"
            f"<tbody>{metric_rows}</tbody></table>"
        )
    return "\n".join(parts)


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(json_ready(data), indent=2, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
