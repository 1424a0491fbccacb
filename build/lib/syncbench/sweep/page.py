"""sweep.html: the verdict first, then the failure rate of every grid cell, the failing
checks with their seeds and the replay of the first, and every instance."""

from __future__ import annotations

import itertools
from html import escape
from typing import Any

_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "unknown": "#8250df", "error": "#9a6700",
            "timeout": "#9a6700", "interrupted": "#57606a", "running": "#0969da"}


def sweep_html(document: dict[str, Any]) -> str:
    """A self-contained page over sweep.json's content."""
    run = document["run"]
    status = document["status"]
    speed = (f"; the instances' own times add up to {run['instances_total_s']:.0f} s "
             f"({run['instances_total_s'] / run['duration_s']:.1f}x the wall time)"
             if run["duration_s"] > 0 and run["instances_total_s"] else "")
    facts = [f"study <b>{escape(run['study'])}</b>",
             f"params {escape(run.get('params_file') or '(study defaults)')}",
             f"{len(run['seeds'])} seeds ({escape(_seeds(run['seeds']))})",
             f"{run['finished']} of {run['planned']} runs finished",
             f"Ray {escape(str(run['ray']['address']))}: {run['ray']['nodes']} node(s), "
             f"{run['ray']['cpus']:g} CPUs, {run['parallel']} at once",
             f"{run['duration_s']:.0f} s wall{speed}",
             f"git {escape(run['git']['revision'])}"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sweep {escape(run["run_id"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: left; }}
th {{ background: #f6f8fa; }}
code {{ background: #f6f8fa; padding: 0.1rem 0.3rem; }}
.verdict {{ font-size: 1.3rem; font-weight: bold; }}
</style></head><body>
<h1>Sweep {escape(run["run_id"])}</h1>
<p class="verdict" style="color:{_COLOURS.get(status, '#000')}">{escape(status.upper())}:
{escape(document["text"])}</p>
<p>{" &middot; ".join(facts)}</p>
<h2>Failure rate per cell</h2>
{_cells(document["cells"])}
<h2>Checks that did not pass</h2>
{_checks(document["checks"])}
<h2>Every run</h2>
{_instances(document["instances"])}
</body></html>
"""


def _cells(cells: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{escape(c['label'])}</td><td>{c['finished']}/{c['planned']}</td>"
        f"<td>{c['pass']}</td><td>{c['fail']}</td><td>{c['unknown']}</td>"
        f"<td>{c['error'] + c['timeout']}</td><td>{_rate(c['failure_rate'])}</td>"
        f"<td>{escape(_seeds(c['failing_seeds']) or '-')}</td></tr>" for c in cells)
    return ("<table><tr><th>cell</th><th>finished</th><th>pass</th><th>fail</th>"
            "<th>unknown</th><th>error/timeout</th><th>failure rate</th>"
            f"<th>failing seeds</th></tr>{rows}</table>")


def _checks(checks: list[dict[str, Any]]) -> str:
    if not checks:
        return "<p>None: every check passed on every seed that finished.</p>"
    rows = "".join(
        f"<tr><td>{escape(c['check'])}</td><td>{escape(c['verdict'])}</td>"
        f"<td>{escape(c['cell_label'])}</td><td>{c['count']}</td>"
        f"<td>{escape(_seeds(c['seeds']))}</td>"
        f"<td>{_link(c['first_run'], str(c['first_seed']))}</td>"
        f"<td><code>{escape(c['replay'] or '(no summary to replay)')}</code></td></tr>"
        for c in checks)
    return ("<table><tr><th>check</th><th>verdict</th><th>cell</th><th>seeds</th>"
            "<th>which</th><th>first</th><th>replay it alone</th></tr>" + rows + "</table>")


def _instances(instances: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{i['seed']}</td><td>{i['cell']}</td>"
        f"<td style=\"color:{_COLOURS.get(i['status'], '#000')}\">{escape(i['status'])}</td>"
        f"<td>{escape(', '.join(i['failed_checks'] + i['unknown_checks']) or '-')}</td>"
        f"<td>{i['duration_s']:.1f} s</td><td>{escape(i['reason'] or '')}</td>"
        f"<td>{_link(i['run_dir'], 'run') if i['run_dir'] else '-'}</td></tr>"
        for i in instances)
    return ("<table><tr><th>seed</th><th>cell</th><th>status</th><th>checks</th>"
            "<th>time</th><th>reason</th><th>artifacts</th></tr>" + rows + "</table>")


def _link(target: str | None, text: str) -> str:
    return f'<a href="{escape(target)}/">{escape(text)}</a>' if target else escape(text)


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _seeds(seeds: list[int]) -> str:
    """Seeds as runs of consecutive numbers: 1-5, 9, 12-13."""
    ordered = sorted(set(seeds))
    runs = [[seed for _, seed in group] for _, group in
            itertools.groupby(enumerate(ordered), key=lambda pair: pair[1] - pair[0])]
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


__all__ = ["sweep_html"]
