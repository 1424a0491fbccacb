"""Figures of the conflicts study: each takes one of its frames and returns a Plotly Figure.

They draw what the study computed (syncbench.studies.conflicts.analysis); they compute
nothing.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from syncbench.charts import require_columns

# One colour per outcome category; the two that mean "something is wrong" are reds.
OUTCOME_COLOURS: dict[str, str] = {
    "no conflict": "#d0d7de",
    "server won": "#54aeff",
    "client won": "#fd8c73",
    "merged": "#4ac26b",
    "manual, resolved": "#c297ff",
    "mixed winners": "#d4a72c",
    "unexpected": "#cf222e",
    "silently lost": "#82071e",
}
SKEW_ORDERING_LABELS = {
    "skewed_first": "server-stamped write first (it is older)",
    "skewed_last": "server-stamped write last (it is newer)",
}


def outcome_heatmap(
    frame: pd.DataFrame,
    row: str = "scenario",
    column: str = "strategy",
    outcome: str = "outcome",
    label: str = "final_label",
) -> go.Figure:
    """Scenarios x strategies, each cell coloured by its outcome and labelled with `label`.

    `frame` has one row per (row, column) with an `outcome` category (keys of
    OUTCOME_COLOURS) and a text `label` (e.g. the final value in short): the nominal rows
    of the outcomes frame, or `contest_grid` of the generated contests (row="kind").
    """
    require_columns(frame, (row, column, outcome, label), "outcome heatmap")
    if frame.empty:  # e.g. the nominal rows of a run with workload 'generated'
        return go.Figure(layout=dict(title="Conflict outcomes: none in this run"))
    categories = list(OUTCOME_COLOURS)
    rows = list(dict.fromkeys(frame[row]))
    columns = list(dict.fromkeys(frame[column]))
    codes = frame.pivot(index=row, columns=column, values=outcome).reindex(index=rows,
                                                                          columns=columns)
    texts = frame.assign(_text=frame[outcome] + "<br>" + frame[label].astype(str)).pivot(
        index=row, columns=column, values="_text").reindex(index=rows, columns=columns)
    # a (row, column) pair with no outcome (the contest grid need not fill every pair) stays
    # blank
    index = {name: float(n) for n, name in enumerate(categories)}
    z = codes.apply(lambda series: series.map(lambda v: index.get(v, float("nan")))
                    ).to_numpy(dtype=float)
    texts = texts.fillna("")
    last = max(len(categories) - 1, 1)
    scale = []
    for index, name in enumerate(categories):
        scale += [(index / (last + 1), OUTCOME_COLOURS[name]),
                  ((index + 1) / (last + 1), OUTCOME_COLOURS[name])]
    fig = px.imshow(z, x=columns, y=rows, zmin=-0.5, zmax=last + 0.5, aspect="auto",
                    color_continuous_scale=scale)
    fig.update_traces(text=texts.to_numpy(), texttemplate="%{text}", textfont_size=9,
                      hovertemplate="%{y} / %{x}<br>%{text}<extra></extra>")
    fig.update_coloraxes(colorbar=dict(
        title="outcome", tickvals=list(range(len(categories))), ticktext=categories))
    fig.update_layout(title=f"Conflict outcome by {row} and {column}",
                      xaxis_title=column, yaxis_title=row,
                      height=max(360, 70 * len(rows) + 120),
                      width=max(760, 170 * len(columns) + 300))
    return fig


def lww_skew_chart(
    frame: pd.DataFrame,
    skew: str = "skew_s",
    lost: str = "newer_write_lost_share",
    ordering: str = "ordering",
) -> go.Figure:
    """Share of last_write_wins trials that dropped the newer write, against clock skew.

    `frame` has one row per (skew, ordering) with the share already computed
    (the `skew_summary` frame).
    """
    require_columns(frame, (skew, lost, ordering), "skew")
    shown = frame.assign(**{ordering: frame[ordering].map(
        lambda value: SKEW_ORDERING_LABELS.get(value, value))})
    fig = px.line(shown, x=skew, y=lost, color=ordering, markers=True,
                  labels={skew: "server clock offset while it stamped a write (s)",
                          lost: "share of trials that lost the newer write",
                          ordering: "which write was newer"})
    fig.update_yaxes(range=[-0.05, 1.05], tickformat=".0%")
    fig.update_layout(title="last_write_wins drops the newer write as clock skew grows",
                      legend=dict(orientation="h", y=-0.25))
    return fig


__all__ = ["OUTCOME_COLOURS", "SKEW_ORDERING_LABELS", "lww_skew_chart", "outcome_heatmap"]
