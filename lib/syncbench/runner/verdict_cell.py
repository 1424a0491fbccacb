"""The generated markdown cell at the top of an executed study: the verdict first."""

from __future__ import annotations

import json
from typing import Any

import nbformat

from syncbench.plain import json_ready
from syncbench.runner.outcome import ERROR, StudyOutcome

VERDICT_TAG = "syncbench-verdict"
_SHOWN_OPERATIONS = 3
# Plain text symbols: they render in every font, emoji do not (headless browsers, CI logs).
_BADGES = {"pass": "✓ PASS", "fail": "✗ FAIL", "unknown": "? UNKNOWN", "error": "⚠ ERROR"}


def verdict_markdown(outcome: StudyOutcome) -> str:
    """Return the verdict as markdown: overall status, a row per check, counterexamples."""
    lines = [f"# Verdict: {outcome.study} — {_BADGES.get(outcome.status, outcome.status)}", ""]
    if outcome.status == ERROR:
        lines += [
            "The study could not run to the end.",
            "",
            f"**Reason:** {_cell(outcome.reason)}",
            "",
        ]
    checks = outcome.checks
    if checks:
        lines += ["| check | verdict | observed | expected |", "|---|---|---|---|"]
        lines += [
            f"| {_cell(c['name'])} | {_BADGES.get(c.get('verdict', ''), c.get('verdict'))} "
            f"| {_cell(c.get('observed'))} | {_cell(c.get('expected'))} |"
            for c in checks
        ]
        lines.append("")
    elif outcome.status != ERROR:
        lines += ["No checks were recorded.", ""]
    for check in outcome.failed_checks:
        lines += _failure_details(check)
    parameters = ", ".join(f"`{k}={v!r}`" for k, v in outcome.parameters.items())
    lines.append(f"Parameters: {parameters or '(defaults)'}; run took {outcome.duration_s:.1f} s.")
    return "\n".join(lines)


def insert_verdict_cell(nb: nbformat.NotebookNode, outcome: StudyOutcome) -> None:
    """Put the verdict cell first in `nb`, replacing one from an earlier run."""
    nb.cells = [c for c in nb.cells if VERDICT_TAG not in c.get("metadata", {}).get("tags", [])]
    cell = nbformat.v4.new_markdown_cell(verdict_markdown(outcome))
    cell.metadata["tags"] = [VERDICT_TAG]
    nb.cells.insert(0, cell)


def _failure_details(check: dict[str, Any]) -> list[str]:
    word = "is unknown" if check.get("verdict") == "unknown" else "failed"
    lines = [
        f"**{_cell(check['name'])} {word}**"
        + (f": {_cell(check['message'])}" if check.get("message") else "")
    ]
    operations = check.get("counterexample") or []
    if operations:
        lines.append(
            f"Counterexample: {len(operations)} operation(s)"
            + (f", first {_SHOWN_OPERATIONS}:" if len(operations) > _SHOWN_OPERATIONS else ":")
        )
        lines.append("")
        lines += [
            f"- `{json.dumps(json_ready(op), sort_keys=True)}`"
            for op in operations[:_SHOWN_OPERATIONS]
        ]
    lines.append("")
    return lines


def _cell(value: Any) -> str:
    """A value as one markdown table cell: one line, pipes escaped."""
    text = " ".join(str(value).split())
    return text.replace("|", "\\|")
