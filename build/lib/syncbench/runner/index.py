"""index.html: one row per study of a run, with status and links to its artifacts."""

from __future__ import annotations

import html
from typing import Any

_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "unknown": "#8250df", "error": "#9a6700",
            "interrupted": "#57606a"}


def index_html(run: dict[str, Any]) -> str:
    """Return a self-contained HTML page over the run summary `run` (see summary.run_summary)."""
    coverage = run.get("coverage") or {}
    per_study = coverage.get("studies") or {}
    left_out = coverage.get("left_out") or {}
    rows = []
    for study in run["studies"]:
        status = study["status"]
        checks = study["checks"]
        passed = sum(1 for check in checks if check.get("passed"))
        detail = study["reason"] or f"{passed}/{len(checks)} checks passed"
        name = _esc(study["study"])
        rows.append(
            "<tr>"
            f"<td>{name}</td>"
            f"<td style='color:{_COLOURS.get(status, '#57606a')};font-weight:bold'>"
            f"{_esc(status.upper())}</td>"
            f"<td>{_esc(detail)}</td>"
            f"<td>{study['duration_s']:.1f} s</td>"
            f"<td>{_reach(per_study.get(study['study']), left_out.get(study['study']))}</td>"
            f"<td><a href='{_esc(study['html'])}'>HTML</a> · "
            f"<a href='{_esc(study['notebook'])}'>notebook</a> · "
            f"<a href='{_esc(study['study'])}.summary.json'>summary</a></td>"
            "</tr>"
        )
    status = run["status"]
    bugs = run.get("seeded_bugs") or {"run": 0}
    seeded = (
        f"<p>Seeded bugs caught: {bugs['caught']} of {bugs['run']} ("
        + ", ".join(_esc(f"{b['bug']} in {b['study']}: {'caught' if b['caught'] else 'MISSED'}")
                    for b in bugs["studies"])
        + ")</p>"
        if bugs["run"] else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>syncbench run {_esc(run["run_id"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #d0d7de; padding: 0.4rem 0.8rem; text-align: left; }}
th {{ background: #f6f8fa; }}
</style></head>
<body>
<h1>syncbench run {_esc(run["run_id"])}:
<span style="color:{_COLOURS.get(status, "#57606a")}">{_esc(status.upper())}</span></h1>
{_interrupted(run.get("interrupted"))}<p>git {_esc(run["git"]["revision"])}{" (uncommitted changes)" if run["git"]["dirty"] else ""}
· params {_esc(run["params_file"] or "(notebook defaults)")} · started {_esc(run["started_at"])}</p>
<table>
<thead><tr><th>study</th><th>status</th><th>detail</th><th>duration</th>
<th title="lines of lib/tasksync this study ran">reach</th><th>artifacts</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
{seeded}
{coverage_html(coverage)}
</body></html>
"""


def coverage_html(coverage: dict[str, Any]) -> str:
    """The run's reach: its total, a link to coverage.py's report and the module table."""
    if not coverage.get("enabled"):
        return (f"<p>Reach not measured ({_esc(coverage.get('reason', 'no coverage section'))})"
                "</p>")
    if "percent" not in coverage:
        return f"<p>Reach could not be reported: {_esc(coverage.get('error', 'no data'))}</p>"
    link = (f" · <a href='{_esc(coverage['html'])}'>lines never reached</a>"
            if coverage.get("html") else "")
    rows = "\n".join(
        f"<tr><td>{_esc(m['module'])}</td><td>{m['statements']}</td><td>{m['missed']}</td>"
        f"<td>{m['percent']:.1f}%</td></tr>"
        for m in coverage["modules"]
    )
    return f"""<h2>Reach: {coverage['percent']:.1f}% of {_esc(coverage['package'])}</h2>
<p>{coverage['covered']} of {coverage['statements']} statements run by the studies (every
process they started: kernel, servers, CLI){link}.
Lowest: {_esc(', '.join(coverage['lowest']))}.{_left_out(coverage.get('left_out') or {})}</p>
<details><summary>per module</summary>
<table>
<thead><tr><th>module</th><th>statements</th><th>missed</th><th>covered</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</details>"""


def _left_out(left_out: dict[str, str]) -> str:
    return "".join(f" Not measured: {_esc(study)} ({_esc(why)})." for study, why in left_out.items())


def _reach(study: dict[str, Any] | None, left_out: str | None) -> str:
    if left_out:
        return f"<span title='{_esc(left_out)}'>not measured</span>"
    return "" if not study else f"{study['percent']:.1f}%"


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _interrupted(why: str | None) -> str:
    return (f"<p><strong>Interrupted</strong> ({_esc(why)}): the studies marked INTERRUPTED "
            "did not finish or did not start.</p>\n" if why else "")

