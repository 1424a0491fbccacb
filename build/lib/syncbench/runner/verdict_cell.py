"""The generated markdown cell at the top of an executed study: the verdict first."""

from __future__ import annotations

import json
from typing import Any

import nbformat

from syncbench.plain import json_ready
from syncbench.runner.outcome import ERROR, INTERRUPTED, StudyOutcome

VERDICT_TAG = "syncbench-verdict"
_SHOWN_OPERATIONS = 3
_SHOWN_MINIMAL = 30  # a minimal case is short; past this the file has the rest
_OP_COLUMNS = ("step", "client", "op")
_WINDOW_COLUMNS = ("at", "for", "fault", "target")
# Plain text symbols: they render in every font, emoji do not (headless browsers, CI logs).
_BADGES = {"pass": "✓ PASS", "fail": "✗ FAIL", "unknown": "? UNKNOWN", "error": "⚠ ERROR",
           "interrupted": "■ INTERRUPTED"}


def verdict_markdown(outcome: StudyOutcome) -> str:
    """Return the verdict as markdown: overall status, a row per check, counterexamples."""
    lines = [f"# Verdict: {outcome.study} — {_BADGES.get(outcome.status, outcome.status)}", ""]
    if outcome.status in (ERROR, INTERRUPTED):
        lines += [
            "The study was interrupted before its end." if outcome.status == INTERRUPTED
            else "The study could not run to the end.",
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
    elif outcome.status not in (ERROR, INTERRUPTED):
        lines += ["No checks were recorded.", ""]
    witness_page = outcome.results.get("witness_page")
    for check in outcome.failed_checks:
        lines += _failure_details(check, witness_page)
    if outcome.results.get("minimal"):
        lines += minimal_markdown(outcome.study, outcome.results["minimal"])
    parameters = ", ".join(f"`{k}={v!r}`" for k, v in outcome.parameters.items())
    lines.append(f"Parameters: {parameters or '(defaults)'}; run took {outcome.duration_s:.1f} s.")
    return "\n".join(lines)


def insert_verdict_cell(nb: nbformat.NotebookNode, outcome: StudyOutcome) -> None:
    """Put the verdict cell first in `nb`, replacing one from an earlier run."""
    nb.cells = [c for c in nb.cells if VERDICT_TAG not in c.get("metadata", {}).get("tags", [])]
    cell = nbformat.v4.new_markdown_cell(verdict_markdown(outcome))
    cell.metadata["tags"] = [VERDICT_TAG]
    nb.cells.insert(0, cell)


def _failure_details(check: dict[str, Any], witness_page: dict[str, str] | None = None
                     ) -> list[str]:
    word = "is unknown" if check.get("verdict") == "unknown" else "failed"
    lines = [
        f"**{_cell(check['name'])} {word}**"
        + (f": {_cell(check['message'])}" if check.get("message") else "")
    ]
    if witness_page and check["name"] in witness_page.get("checks", []):
        lines += ["", f"[Its witness as a timeline, by client, with the fault windows]"
                      f"({witness_page['page']}#{check['name']})", ""]
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


def minimal_markdown(study: str, minimal: dict[str, Any]) -> list[str]:
    """The shrunk failing case as markdown lines: what was found, the operations and fault
    windows as compact tables, and the one command that replays it."""
    operations = minimal.get("operations") or []
    windows = minimal.get("schedule") or []
    how = ("1-minimal: dropping any one operation or window makes it pass"
           if minimal.get("complete") else "the shrinking budget ran out: the smallest found")
    lines = [
        f"**Minimal failing case** for {_cell(minimal.get('check', '?'))}: "
        f"{_count(len(operations), 'operation')}, {_count(len(windows), 'fault window')} "
        f"({_count(minimal.get('trials', 0), 'trial')}, {minimal.get('elapsed_s') or 0:.1f} s; "
        f"{how}).",
        "",
    ]
    if operations:
        lines += ["| step | client | op | arguments |", "|---|---|---|---|"]
        lines += [
            f"| {_cell(op.get('step', ''))} | {_cell(op.get('client', ''))} "
            f"| {_cell(op.get('op', ''))} | {_cell(_arguments(op, _OP_COLUMNS))} |"
            for op in operations[:_SHOWN_MINIMAL]
        ]
        lines += _more(len(operations), minimal)
    if windows:
        lines += ["| at (s) | for (s) | fault | target | details |", "|---|---|---|---|---|"]
        lines += [
            f"| {_cell(w.get('at', ''))} | {_cell(w.get('for', ''))} | {_cell(w.get('fault', ''))} "
            f"| {_cell(w.get('target', ''))} | {_cell(_arguments(w, _WINDOW_COLUMNS))} |"
            for w in windows[:_SHOWN_MINIMAL]
        ]
        lines += _more(len(windows), minimal)
    replay = minimal.get("replay") or f"syncbench run {study} --replay {minimal.get('file', '')}"
    lines += [f"Replay: `{replay}`", ""]
    return lines


def _arguments(row: dict[str, Any], shown: tuple[str, ...]) -> str:
    """The fields a table has no column for, as compact `key=value` pairs."""
    return ", ".join(f"{key}={json.dumps(json_ready(value), sort_keys=True)}"
                     for key, value in row.items() if key not in shown)


def _more(count: int, minimal: dict[str, Any]) -> list[str]:
    if count <= _SHOWN_MINIMAL:
        return [""]
    return ["", f"... and {count - _SHOWN_MINIMAL} more in {minimal.get('file', 'the file')}.", ""]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _cell(value: Any) -> str:
    """A value as one markdown table cell: one line, pipes escaped."""
    text = " ".join(str(value).split())
    return text.replace("|", "\\|")
