"""The detection matrix as a Plotly heatmap: a row per bug (the baseline first), a column per
study, each cell coloured by outcome and labelled with the check that caught the bug."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from syncbench.charts import figure
from syncbench.zoo.matrix import CAUGHT, ERROR, MISSED, NO_BUG, Cell

# One colour per outcome; the baseline's pass reads like a catch (good), its fail like a miss.
_LEVELS = {"not run": 0, ERROR: 1, "unknown": 1, MISSED: 2, "fail": 2, CAUGHT: 3, "pass": 3}
_COLOURS = ["#eaeef2", "#d4a72c", "#cf222e", "#2da44e"]


def detection_heatmap(cells: Sequence[Cell], bugs: Sequence[str],
                      studies: Sequence[str]) -> go.Figure:
    """Bug x study heatmap of `cells`; a (bug, study) with no cell shows "not run"."""
    rows = [NO_BUG, *bugs]
    found = {(cell.bug, cell.study): cell for cell in cells}
    z, text, hover = [], [], []
    for row in rows:
        z_row, text_row, hover_row = [], [], []
        for study in studies:
            cell = found.get((row, study))
            outcome = cell.outcome if cell else "not run"
            z_row.append(_LEVELS.get(outcome, 1))
            text_row.append(cell.label if cell else "")
            hover_row.append(f"{row} / {study}: {outcome}"
                             + (f"<br>{cell.reason}" if cell and cell.reason else "")
                             + (f"<br>{cell.duration_s:.1f} s" if cell else ""))
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)
    scale = [[stop, colour] for index, colour in enumerate(_COLOURS)
             for stop in (index / len(_COLOURS), (index + 1) / len(_COLOURS))]
    heatmap = go.Heatmap(z=z, x=list(studies), y=rows, text=text, texttemplate="%{text}",
                         hovertext=hover, hoverinfo="text", zmin=-0.5, zmax=3.5,
                         colorscale=scale, showscale=False, xgap=2, ygap=2)
    return figure([heatmap], title="Detection matrix: the check that caught each bug",
                  x_title="study", y_title="seeded bug",
                  yaxis={"autorange": "reversed"},
                  height=max(260, 60 + 34 * len(rows)))
