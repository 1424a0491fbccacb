"""index.html: one row per study of a run, with status and links to its artifacts."""

from __future__ import annotations

import html
from typing import Any

_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "unknown": "#8250df", "error": "#9a6700"}


def index_html(run: dict[str, Any]) -> str:
    """Return a self-contained HTML page over the run summary `run` (see summary.run_summary)."""
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
<p>git {_esc(run["git"]["revision"])}{" (uncommitted changes)" if run["git"]["dirty"] else ""}
· params {_esc(run["params_file"] or "(notebook defaults)")} · started {_esc(run["started_at"])}</p>
<table>
<thead><tr><th>study</th><th>status</th><th>detail</th><th>duration</th><th>artifacts</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
{seeded}
</body></html>
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)
