"""outputs/index.html: every run kept under outputs/, newest first, with each study's
headline metrics as trends across runs and the checks whose verdict flips between runs (or
between seeds). Rewritten after each `syncbench run` that writes under outputs/, and by
`syncbench index`.

    write_runs_index(Path("outputs"))   # -> outputs/index.html
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from syncbench.review.compare import numeric_metrics

PAGE = "index.html"
TREND_METRICS = 6  # per study: the first metrics it reports, in its own order
_SKIPPED = ("zoo", "compare", "lab", "bench")  # folders under outputs/ that hold no runs


@dataclass(frozen=True)
class KeptRun:
    path: Path
    summary: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.summary.get("run_id", self.path.name))

    @property
    def started_at(self) -> str:
        return str(self.summary.get("started_at") or "")


def kept_runs(outputs_root: Path) -> list[KeptRun]:
    """The runs under `outputs_root` (one level down), oldest first; unreadable ones skipped."""
    runs = []
    for summary_file in sorted(Path(outputs_root).glob("*/summary.json")):
        if summary_file.parent.name in _SKIPPED:
            continue
        try:
            summary = json.loads(summary_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # a run being written, or a broken one: the next index has it
        if isinstance(summary, dict) and isinstance(summary.get("studies"), list):
            runs.append(KeptRun(summary_file.parent, summary))
    return sorted(runs, key=lambda run: (run.started_at, run.run_id))


def flipping_checks(runs: list[KeptRun]) -> list[dict[str, Any]]:
    """Checks with more than one verdict across the runs: study, check, and each run's
    verdict (with its seed), oldest first."""
    seen: dict[tuple[str, str], list[tuple[str, Any, str]]] = {}
    for run in runs:
        for study in run.summary["studies"]:
            for check in study.get("checks", []):
                verdict = check.get("verdict") or ("pass" if check.get("passed") else "fail")
                seen.setdefault((study["study"], check["name"]), []).append(
                    (run.run_id, study.get("seed"), verdict))
    return [{"study": study, "check": check, "verdicts": verdicts}
            for (study, check), verdicts in seen.items()
            if len({verdict for _, _, verdict in verdicts}) > 1]


def trends(runs: list[KeptRun]) -> dict[str, dict[str, list[tuple[str, float, str]]]]:
    """study -> metric -> [(run id, value, unit)] for each study's first TREND_METRICS numeric
    metrics that at least two runs report."""
    series: dict[str, dict[str, list[tuple[str, float, str]]]] = {}
    for run in runs:
        for study in run.summary["studies"]:
            for name, value, unit in numeric_metrics(study):
                series.setdefault(study["study"], {}).setdefault(name, []).append(
                    (run.run_id, value, unit))
    return {study: dict([(name, points) for name, points in metrics.items()
                         if len(points) > 1][:TREND_METRICS])
            for study, metrics in series.items()}


def runs_index_html(runs: list[KeptRun], outputs_root: Path) -> str:
    rows = "".join(
        f"<tr><td><a href='{_esc(run.path.name)}/index.html'>{_esc(run.run_id)}</a></td>"
        f"<td>{_esc(run.started_at)}</td><td>{_esc(str(run.summary.get('status')).upper())}</td>"
        f"<td>{_esc(run.summary.get('params_file') or '(notebook defaults)')}</td><td>"
        + ", ".join(f"{_esc(s['study'])}: {_esc(s['status'])}" for s in run.summary["studies"])
        + "</td></tr>" for run in reversed(runs))
    flips = flipping_checks(runs)
    flip_rows = "".join(
        f"<tr><td>{_esc(f['study'])}</td><td>{_esc(f['check'])}</td><td>"
        + " → ".join(f"{_esc(verdict)} <small>({_esc(run_id)}, seed {_esc(seed)})</small>"
                     for run_id, seed, verdict in f["verdicts"]) + "</td></tr>"
        for f in flips)
    charts, first = [], True
    for study, metrics in trends(runs).items():
        if not metrics:
            continue
        charts.append(_trend_chart(study, metrics, first))
        first = False
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>syncbench runs in {_esc(outputs_root)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; margin-bottom: 1.5rem; }}
th, td {{ border: 1px solid #d0d7de; padding: 0.3rem 0.7rem; text-align: left; }}
th {{ background: #f6f8fa; }}
</style></head>
<body>
<h1>syncbench runs ({len(runs)})</h1>
<p>Compare two: <code>syncbench compare {_esc(outputs_root)}/RUN_A {_esc(outputs_root)}/RUN_B</code></p>
<table><tr><th>run</th><th>started</th><th>status</th><th>params</th><th>studies</th></tr>
{rows}</table>
<h2>Checks that flip between runs or seeds ({len(flips)})</h2>
{'<table><tr><th>study</th><th>check</th><th>verdicts, oldest first</th></tr>' + flip_rows
 + '</table>' if flips else '<p>None: every check kept its verdict.</p>'}
<h2>Headline metrics across runs</h2>
{''.join(charts) or '<p>Trends need two runs of a study.</p>'}
</body></html>
"""


def write_runs_index(outputs_root: Path) -> Path:
    """Write outputs_root/index.html over the runs kept there; its path."""
    outputs_root = Path(outputs_root)
    page = outputs_root / PAGE
    page.write_text(runs_index_html(kept_runs(outputs_root), outputs_root), encoding="utf-8")
    return page


def _trend_chart(study: str, metrics: dict[str, list[tuple[str, float, str]]],
                 include_plotlyjs: bool) -> str:
    figure = go.Figure([
        go.Scatter(x=[run_id for run_id, _, _ in points], y=[value for _, value, _ in points],
                   mode="lines+markers", name=f"{name} ({points[0][2]})" if points[0][2]
                   else name, hovertemplate="%{x}<br>%{y:.4g}<extra>" + name + "</extra>")
        for name, points in metrics.items()])
    figure.update_layout(title=f"{study}: headline metrics by run", height=380,
                         xaxis_title="run", yaxis_title="value", xaxis_type="category")
    return figure.to_html(full_html=False, include_plotlyjs=include_plotlyjs)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


__all__ = ["flipping_checks", "kept_runs", "runs_index_html", "trends", "write_runs_index"]
