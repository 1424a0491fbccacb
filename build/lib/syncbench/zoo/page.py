"""zoo.html: the verdict first, then the detection heatmap, the rates, the bugs and every cell
with links to the study's own report."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from syncbench.zoo.heatmap import detection_heatmap
from syncbench.zoo.matrix import ALL_CAUGHT, CAUGHT, Cell, row_directory

_COLOURS = {"caught": "#1a7f37", "pass": "#1a7f37", "missed": "#cf222e", "fail": "#cf222e",
            "error": "#9a6700", "unknown": "#8250df", "incomplete": "#57606a"}


def zoo_html(document: dict[str, Any], cells: Sequence[Cell]) -> str:
    """A self-contained page (plotly.js inline, so it works offline) over zoo.json's content."""
    bugs = [bug["name"] for bug in document["bugs"]]
    chart = detection_heatmap(cells, bugs, document["studies"]).to_html(
        full_html=False, include_plotlyjs=True)
    ok = document["status"] == ALL_CAUGHT
    sample = document.get("sample")
    facts = [
        f"params {_esc(document.get('params_file') or '(study defaults)')}",
        f"git {_esc(document['git']['revision'])}",
        f"started {_esc(document['started_at'])}",
        f"{document['duration_s']:.0f} s",
    ]
    if sample:
        facts.append(f"sample of {sample['size']} by seed {sample['seed']}")
    if document.get("interrupted"):
        facts.append("<b>interrupted: what finished is shown</b>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>bug zoo {_esc(document["run_id"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: left; }}
th {{ background: #f6f8fa; }}
</style></head>
<body>
<h1>Bug zoo {_esc(document["run_id"])}:
<span style="color:{'#1a7f37' if ok else '#cf222e'}">{_esc(document["status"].upper())}</span></h1>
<p><b>{_esc(document["verdict"])}</b></p>
<p>{" · ".join(facts)}</p>
<p>A cell is one study run with the bug switched on: <b>caught</b> when a check of the bug's
class (its <code>caught_by</code>) failed; <b>missed</b> when none did (other failed checks are
named); <b>error</b> when the study could not finish or only had unknown verdicts. The
<b>no bug</b> row must pass everywhere, or a catch in that column proves nothing. Green:
caught (or, without a bug, pass); red: missed (or a false alarm); amber: error; grey: not run.</p>
{chart}
{_rates(document["detection"])}
{_bugs(document["bugs"])}
{_cells(cells)}
</body></html>
"""


def _rates(detection: dict[str, Any]) -> str:
    rows = [("overall", detection["overall"])]
    rows += [(f"component: {name}", rate) for name, rate in detection["by_component"].items()]
    rows += [(f"area: {name}", rate) for name, rate in detection["by_area"].items()]
    rows += [(f"study: {name}", rate) for name, rate in detection["by_study"].items()]
    body = "".join(
        f"<tr><td>{_esc(name)}</td><td>{rate['caught']} of {rate['run']}</td>"
        f"<td>{'-' if rate['rate'] is None else format(rate['rate'], '.0%')}</td></tr>"
        for name, rate in rows)
    expected = detection["expected_studies"]
    return ("<h2>Detection rate</h2><table><thead><tr><th>scope</th><th>bugs caught</th>"
            f"<th>rate</th></tr></thead><tbody>{body}</tbody></table>"
            f"<p>Caught by a study meant to catch it: {expected['caught']} of "
            f"{expected['run']}.</p>")


def _bugs(bugs: list[dict[str, Any]]) -> str:
    body = "".join(
        f"<tr><td>{_esc(b['name'])}</td><td>{_esc(b['component'])}</td><td>{_esc(b['area'])}</td>"
        f"<td>{_esc(b['summary'])}</td>{_status(b['status'])}"
        f"<td>{_esc(', '.join(b['caught_in']))}</td><td>{_esc(', '.join(b['checks']))}</td>"
        f"<td>{_esc(', '.join(b['caught_by']))}</td><td>{_esc(', '.join(b['studies']))}</td></tr>"
        for b in bugs)
    return ("<h2>Bugs</h2><table><thead><tr><th>bug</th><th>component</th><th>area</th>"
            "<th>summary</th><th>status</th><th>caught in</th><th>by</th><th>caught_by</th>"
            f"<th>expected studies</th></tr></thead><tbody>{body}</tbody></table>")


def _cells(cells: Sequence[Cell]) -> str:
    body = "".join(
        f"<tr><td>{_esc(c.bug)}</td><td>{_esc(c.study)}</td>{_status(c.outcome)}"
        f"<td>{_esc(', '.join(c.catching_checks if c.outcome == CAUGHT else c.failed_checks))}</td>"
        f"<td>{_esc(', '.join(c.unknown_checks))}</td><td>{_esc(c.reason)}</td>"
        f"<td>{c.duration_s:.1f} s</td>"
        f"<td><a href='{_esc(row_directory(c.bug))}/{_esc(c.study)}.html'>report</a> · "
        f"<a href='{_esc(row_directory(c.bug))}/{_esc(c.study)}.summary.json'>summary</a></td></tr>"
        for c in cells)
    return ("<h2>Every run</h2><table><thead><tr><th>bug</th><th>study</th><th>outcome</th>"
            "<th>checks (catching, else failed)</th><th>unknown</th><th>reason</th>"
            f"<th>duration</th><th>artifacts</th></tr></thead><tbody>{body}</tbody></table>")


def _status(status: str) -> str:
    return (f"<td style='color:{_COLOURS.get(status, '#57606a')};font-weight:bold'>"
            f"{_esc(status)}</td>")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)
