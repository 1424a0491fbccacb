"""A failing check's witness, drawn as Jepsen draws a history: one lane per client, each
operation a bar from its invocation to its completion coloured by outcome, the fault windows
shaded behind. `<study>.counterexamples.html` holds one chart per failing check that named
operations; the verdict cell links to it.

    page = write_witness_page(out_dir, "sync", checks, windows)   # None: nothing to draw
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from syncbench.charts import shade_fault_windows

OUTCOME_COLOURS = {"ok": "#1a7f37", "fail": "#cf222e", "info": "#bf8700"}
SHOWN_OPERATIONS = 400  # a witness past this is cut (the summary has all of it)
WINDOW_MARGIN_S = 2.0  # fault windows this close to the witness are drawn too


def witness_operations(check: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations a check's counterexample names (entries are operations, or hold them
    under any key), each once, in invocation order."""
    found: dict[Any, dict[str, Any]] = {}
    for op in _operations_in(check.get("counterexample") or []):
        found.setdefault((op.get("op_id"), op.get("client")), op)
    return sorted(found.values(), key=lambda op: float(op["invoke_time"]))[:SHOWN_OPERATIONS]


def witness_timeline(check: dict[str, Any], windows: pd.DataFrame | None = None) -> go.Figure:
    """Per-client lanes of the witness operations over the nearby fault windows."""
    ops = witness_operations(check)
    figure = go.Figure()
    for outcome in dict.fromkeys(str(op.get("outcome")) for op in ops):
        chosen = [op for op in ops if str(op.get("outcome")) == outcome]
        starts = [pd.Timestamp(float(op["invoke_time"]), unit="s", tz="UTC") for op in chosen]
        lengths = [1000 * max(_end(op) - float(op["invoke_time"]), 0.002) for op in chosen]
        figure.add_trace(go.Bar(
            base=starts, x=lengths, y=[str(op.get("client")) for op in chosen],
            orientation="h", name=outcome,
            marker_color=OUTCOME_COLOURS.get(outcome, "#57606a"),
            customdata=[[op.get("op_id"), op.get("operation"), op.get("attempts"),
                         _short(op.get("error")), _short(op.get("why") or op.get("args"))]
                        for op in chosen],
            hovertemplate=("client %{y}<br>op %{customdata[0]}: %{customdata[1]}<br>"
                           "attempts %{customdata[2]}<br>error %{customdata[3]}<br>"
                           "%{customdata[4]}<extra>" + outcome + "</extra>")))
    if ops:
        first = min(float(op["invoke_time"]) for op in ops) - WINDOW_MARGIN_S
        last = max(_end(op) for op in ops) + WINDOW_MARGIN_S
        shade_fault_windows(figure, _near(windows, first, last))
    figure.update_layout(title=f"{check.get('name')}: its witness, by client",
                         xaxis={"type": "date", "title": "time (UTC)"},
                         yaxis={"title": "client", "type": "category"}, barmode="overlay",
                         height=max(260, 60 + 28 * len({op.get("client") for op in ops})))
    return figure


def write_witness_page(out_dir: Path, study: str, checks: list[dict[str, Any]],
                       windows: pd.DataFrame | None) -> Path | None:
    """Write `<study>.counterexamples.html` for the failing checks whose counterexample
    names operations; None (and no file) when none does."""
    drawn = [check for check in checks if not check.get("passed") and witness_operations(check)]
    page = Path(out_dir) / f"{study}.counterexamples.html"
    if not drawn:
        page.unlink(missing_ok=True)
        return None
    sections = []
    for index, check in enumerate(drawn):
        chart = witness_timeline(check, windows).to_html(full_html=False,
                                                         include_plotlyjs=index == 0)
        sections.append(f"<h2 id='{_esc(check['name'])}'>{_esc(check['name'])}</h2>"
                        f"<p>{_esc(check.get('message') or '')}</p>{chart}")
    page.write_text(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(study)}: counterexamples</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 2rem; }}</style></head>
<body><h1>{_esc(study)}: the operations each failing check names</h1>
<p>One lane per client; a bar runs from an operation's invocation to its completion (an
operation with no completion is drawn to its last known time); shaded: fault windows.</p>
{''.join(sections)}
</body></html>
""", encoding="utf-8")
    return page


def read_windows(out_dir: Path, data_files: list[str]) -> pd.DataFrame | None:
    """The study's fault windows from its data files (`*windows.csv`), or None."""
    for name in data_files:
        if name.endswith("windows.csv") and (Path(out_dir) / name).is_file():
            frame = pd.read_csv(Path(out_dir) / name)
            for column in ("start", "end"):
                frame[column] = pd.to_datetime(frame[column], utc=True, format="mixed")
            return frame
    return None


def _operations_in(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if "invoke_time" in value and "client" in value and value.get("invoke_time") is not None:
            yield value
            return
        for inner in value.values():
            yield from _operations_in(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _operations_in(inner)


def _end(op: dict[str, Any]) -> float:
    complete = op.get("complete_time")
    return float(complete) if complete is not None else float(op["invoke_time"])


def _near(windows: pd.DataFrame | None, first: float, last: float) -> pd.DataFrame | None:
    if windows is None or windows.empty:
        return None
    low = pd.Timestamp(first, unit="s", tz="UTC")
    high = pd.Timestamp(last, unit="s", tz="UTC")
    return windows[(windows["end"] >= low) & (windows["start"] <= high)]


def _short(value: Any) -> str:
    text = "" if value is None else str(value)
    return html.escape(text[:160] + ("..." if len(text) > 160 else ""))


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


__all__ = ["read_windows", "witness_operations", "witness_timeline", "write_witness_page"]
