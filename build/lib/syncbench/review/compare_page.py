"""`syncbench compare` shown: lines for the terminal, and one self-contained HTML page (its
charts interactive offline: plotly.js is embedded once)."""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go

from syncbench.review.compare import (
    FIXED,
    REGRESSION,
    Comparison,
    MetricChange,
    StudyComparison,
)

_COLOURS = {REGRESSION: "#cf222e", FIXED: "#1a7f37"}
_CHART_METRICS = 40  # a chart past this many bars stops being readable


def console_lines(comparison: Comparison) -> list[str]:
    """The comparison as terminal lines: verdict changes first, then metrics that moved."""
    base, candidate = _names(comparison)
    lines = [f"compare {base} (base) with {candidate}"]
    for study in comparison.studies:
        lines.append(f"{study.study}: {study.status_before or 'not run'} -> "
                     f"{study.status_after or 'not run'}")
        for name, (was, now) in study.parameters.items():
            lines.append(f"  parameter {name}: {was!r} -> {now!r}")
        for check in study.checks:
            lines.append(f"  {check.kind.upper()}: {check.check} {check.before or '-'} -> "
                         f"{check.after or '-'}")
        moved = [m for m in study.metrics if m.change]
        noisy = sum(m.beyond_noise is False for m in moved)
        for metric in moved:
            if metric.beyond_noise is False:
                continue
            lines.append(f"  {metric.metric}: {_number(metric.before)} -> "
                         f"{_number(metric.after)} {metric.unit}".rstrip()
                         + f" ({_relative(metric)}{_band_note(metric)})")
        if noisy:
            lines.append(f"  ({noisy} metric(s) moved within the base's noise band)")
    regressions = comparison.regression_count
    lines.append(f"{regressions} regression(s)" if regressions else "no regression")
    return lines


def compare_html(comparison: Comparison) -> str:
    """A self-contained page: per study, the changed checks, the metrics table and a chart of
    each metric in the candidate against the base (1.0 = unchanged)."""
    base, candidate = _names(comparison)
    sections = []
    first_chart = True
    for study in comparison.studies:
        chart = _chart(study, first_chart)
        first_chart = first_chart and not chart
        sections.append(_section(study, chart))
    verdict = (f"<p style='color:{_COLOURS[REGRESSION]}'><strong>"
               f"{comparison.regression_count} regression(s)</strong></p>" if comparison.regressed
               else "<p style='color:#1a7f37'><strong>no regression</strong></p>")
    runs = "".join(f"<li>{_esc(side)}: " + ", ".join(
        f"<a href='{_esc((r.path / 'index.html').resolve().as_uri())}'>{_esc(r.run_id)}</a>"
        for r in records) + "</li>"
        for side, records in (("base", comparison.base), ("candidate", comparison.candidate)))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>compare {_esc(base)} with {_esc(candidate)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; margin-bottom: 1rem; }}
th, td {{ border: 1px solid #d0d7de; padding: 0.3rem 0.7rem; text-align: left; }}
th {{ background: #f6f8fa; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
</style></head>
<body>
<h1>syncbench compare</h1>
<ul>{runs}</ul>
{verdict}
{''.join(sections)}
</body></html>
"""


def _section(study: StudyComparison, chart: str) -> str:
    parts = [f"<h2>{_esc(study.study)}: {_esc(study.status_before or 'not run')} → "
             f"{_esc(study.status_after or 'not run')}</h2>"]
    if study.parameters:
        parts.append("<table><tr><th>parameter</th><th>base</th><th>candidate</th></tr>" + "".join(
            f"<tr><td>{_esc(n)}</td><td>{_esc(repr(a))}</td><td>{_esc(repr(b))}</td></tr>"
            for n, (a, b) in study.parameters.items()) + "</table>")
    if study.checks:
        parts.append("<table><tr><th>check</th><th>base</th><th>candidate</th><th>change</th>"
                     "<th>message</th></tr>" + "".join(
                         f"<tr><td>{_esc(c.check)}</td><td>{_esc(c.before or '-')}</td>"
                         f"<td>{_esc(c.after or '-')}</td><td style='color:"
                         f"{_COLOURS.get(c.kind, '#57606a')};font-weight:bold'>"
                         f"{_esc(c.kind)}</td><td>{_esc(c.message[:300])}</td></tr>"
                         for c in study.checks) + "</table>")
    else:
        parts.append("<p>No check changed its verdict.</p>")
    if study.metrics:
        parts.append("<table><tr><th>metric</th><th>base</th><th>candidate</th><th>change</th>"
                     "<th>base noise band</th></tr>" + "".join(
                         f"<tr><td>{_esc(m.metric)}</td><td class='num'>{_number(m.before)}"
                         f"</td><td class='num'>{_number(m.after)}</td><td class='num'>"
                         f"{_esc(_relative(m))}</td><td>{_esc(_band(m))}</td></tr>"
                         for m in study.metrics) + "</table>")
    parts.append(chart)
    return "\n".join(parts)


def _chart(study: StudyComparison, include_plotlyjs: bool) -> str:
    shown = [m for m in study.metrics if m.before][:_CHART_METRICS]
    if not shown:
        return ""
    names = [m.metric for m in shown]
    figure = go.Figure([
        go.Bar(name="base", x=names, y=[1.0] * len(shown), marker_color="#8c959f",
               error_y=_band_bars(shown), hovertemplate="%{x}: base<extra></extra>"),
        go.Bar(name="candidate", x=names, y=[m.after / m.before for m in shown],
               marker_color="#0969da", customdata=[[m.before, m.after, m.unit] for m in shown],
               hovertemplate=("%{x}<br>base %{customdata[0]:.4g} %{customdata[2]}<br>"
                              "candidate %{customdata[1]:.4g} %{customdata[2]}<br>"
                              "ratio %{y:.3f}<extra></extra>")),
    ])
    figure.update_layout(barmode="group", title=f"{study.study}: candidate / base",
                         yaxis_title="ratio to base (1 = unchanged)", height=420,
                         margin={"b": 160}, xaxis_tickangle=-40)
    return figure.to_html(full_html=False, include_plotlyjs=include_plotlyjs)


def _band_bars(metrics: list[MetricChange]) -> dict[str, Any]:
    """The base's noise band as error bars around 1.0 (none without repeats)."""
    if all(m.band is None for m in metrics):
        return {"visible": False}
    return {"type": "data", "symmetric": False, "visible": True,
            "array": [(m.band[1] / m.before - 1) if m.band else 0 for m in metrics],
            "arrayminus": [(1 - m.band[0] / m.before) if m.band else 0 for m in metrics]}


def _relative(metric: MetricChange) -> str:
    if metric.ratio is None:
        return f"{metric.change:+.4g}"
    return f"{metric.change:+.4g}, {100 * (metric.ratio - 1):+.1f}%"


def _band(metric: MetricChange) -> str:
    if metric.band is None:
        return "no repeats"
    where = "outside" if metric.beyond_noise else "inside"
    return f"{_number(metric.band[0])} .. {_number(metric.band[1])} ({where})"


def _band_note(metric: MetricChange) -> str:
    return "" if metric.band is None else f"; beyond the base's band {_band(metric)}"


def _number(value: float) -> str:
    return f"{value:.4g}"


def _names(comparison: Comparison) -> tuple[str, str]:
    def side(records: list[Any]) -> str:
        return records[0].run_id + (f" (+{len(records) - 1} repeats)" if len(records) > 1
                                    else "")
    return side(comparison.base), side(comparison.candidate)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


__all__ = ["compare_html", "console_lines"]
