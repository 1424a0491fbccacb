"""From what a run recorded and its final reads to frames, checks and metrics.

One pass over each input, with dicts for every look-up (conflict records and final tasks by
(repository, task_id)), so the analysis stays linear in the number of cells, sides and
trials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from syncbench.checks import conflicts_reported_once, convergence
from syncbench.history import History
from syncbench.metric import COUNT, RATIO, Metrics, S
from syncbench.nemesis import fault_windows
from syncbench.studies.conflicts.checks import (
    expected_conflicts_reported,
    no_silently_lost_changes,
    records_by_task,
    silently_lost,
    winner_matches_strategy,
)
from syncbench.studies.conflicts.generator import contest_features, spec_json
from syncbench.studies.conflicts.phases import FinalState
from syncbench.studies.conflicts.records import (
    describe,
    in_state,
    short_fields,
    short_label,
    task_fields,
)
from syncbench.studies.conflicts.scenarios import CellRecord
from syncbench.studies.conflicts.sweep import TrialRecord
from syncbench.verdict import CheckResult, compose

OUTCOME_COLUMNS: tuple[str, ...] = (
    "scenario", "strategy", "conflicts_reported", "expected_conflicts", "winner",
    "expected_winner", "final_value", "expected_value", "final_label", "silently_lost",
    "newer_side", "newer_kept", "outcome", "repository", "task_id", "push_op_id", "op_ids",
    "workload", "contest", "features", "push_order", "spec",
)
SKEW_COLUMNS: tuple[str, ...] = (
    "trial", "skew_s", "ordering", "gap_s", "measured_gap_s", "newer", "winner",
    "newer_write_lost", "final_value", "repository",
)
SIDE_COLUMNS: tuple[str, ...] = ("scenario", "strategy", "repository", "task_id", "side",
                                 "client", "changed", "op_ids", "last_edit_time")


def outcome_rows(cells: Sequence[CellRecord], final: FinalState,
                 records: Mapping[tuple[str, str], list[dict[str, Any]]]) -> pd.DataFrame:
    """One row per cell: what was reported and kept against what the model expected."""
    rows = []
    for record in cells:
        cell, contest, keep = record.cell, record.contest, record.manual_keep
        expectation = contest.expectation
        expected_final = expectation.final
        if cell.strategy == "manual" and expectation.conflicts and keep == "local":
            expected_final = contest.items[-1].fields
        fields = task_fields(final.server.get(cell.key))
        cell_records = records.get(cell.key, [])
        lost = [s.side for s in contest.sides if silently_lost(s, fields, cell_records)]
        newer = max(contest.sides, key=lambda s: s.last_edit_time) if contest.sides else None
        row = {
            "scenario": cell.scenario, "strategy": cell.strategy,
            "conflicts_reported": len(contest.reported),
            "expected_conflicts": expectation.conflicts,
            "winner": winner_label([str(c.get("winner")) for c in contest.reported],
                                   cell.strategy, keep),
            "expected_winner": winner_label(expectation.winners, cell.strategy, keep),
            "final_value": describe(fields), "expected_value": describe(expected_final),
            "final_label": short_label(fields, cell.token),
            "silently_lost": ",".join(lost), "newer_side": newer.side if newer else "",
            "newer_kept": None if newer is None else in_state(newer.changed, fields),
            "repository": cell.repository, "task_id": cell.task_id,
            "push_op_id": contest.push_op_id,
            "op_ids": sorted({op for s in contest.sides for op in s.op_ids}
                             | {contest.push_op_id}),
            **_contest_columns(record),
        }
        row["outcome"] = outcome_label(row)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS))
    frame["contest"] = frame["contest"].astype("Int64")  # None for nominal cells
    return frame


def _contest_columns(record: CellRecord) -> dict[str, Any]:
    """What a row says about its workload: for a generated contest its number, the
    boundaries it exercised, the order its pushes were served in and its spec (JSON: what
    the `contests` parameter takes back to replay it)."""
    spec = record.spec
    if spec is None:
        return {"workload": "nominal", "contest": None, "features": "", "push_order": "",
                "spec": ""}
    return {"workload": "generated", "contest": int(spec["contest"]),
            "features": ",".join(contest_features(spec)),
            "push_order": ",".join(record.push_order), "spec": spec_json(spec)}


def contest_grid(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Generated contests by kind (rows) and strategy, one row per pair for the outcome
    heatmap: the worst outcome seen there and how many contests had which outcome."""
    columns = ["kind", "strategy", "outcome", "label", "contests"]
    generated = outcomes[outcomes["workload"] == "generated"]
    if generated.empty:
        return pd.DataFrame(columns=columns)
    severity = {name: rank for rank, name in enumerate(
        ("silently lost", "unexpected", "mixed winners", "manual, resolved", "merged",
         "client won", "server won", "no conflict"))}
    rows = []
    for (kind, strategy), group in generated.groupby(["scenario", "strategy"], sort=True):
        counts = group["outcome"].value_counts()
        worst = min(counts.index, key=lambda name: severity.get(name, -1))
        rows.append({"kind": str(kind).removeprefix("generated "), "strategy": strategy,
                     "outcome": worst, "contests": len(group),
                     "label": "<br>".join(f"{count} {name}" for name, count in counts.items())})
    return pd.DataFrame(rows, columns=columns)


def winner_label(winners: Sequence[str], strategy: str, keep: str) -> str:
    """The winners of a cell's conflicts in one label ("-" for none)."""
    if not winners:
        return "-"
    distinct = list(dict.fromkeys(winners))
    label = ",".join(distinct)
    if strategy == "manual" and distinct == ["none"]:
        label = f"none, resolved: {keep}"
    return label


def outcome_label(row: Mapping[str, Any]) -> str:
    """The heatmap category of one outcome row (silent loss and surprises first)."""
    if row["silently_lost"]:
        return "silently lost"
    if (row["conflicts_reported"] != row["expected_conflicts"]
            or row["winner"] != row["expected_winner"]
            or row["final_value"] != row["expected_value"]):
        return "unexpected"
    if not row["conflicts_reported"]:
        return "no conflict"
    winner = str(row["winner"])
    if winner.startswith("none"):
        return "manual, resolved"
    return {"server": "server won", "client": "client won", "merged": "merged"}.get(
        winner, "mixed winners")


def skew_rows(trials: Sequence[TrialRecord], final: FinalState) -> pd.DataFrame:
    """One row per sweep trial: which write was newer in real time and whether it was lost."""
    rows = []
    for record in trials:
        trial = record.trial
        task = final.server.get(trial.key) or {}
        value = task.get("content")
        newer = "skewed" if record.skewed_at > record.honest_at else "honest"
        newer_value = record.skewed_value if newer == "skewed" else record.honest_value
        rows.append({
            "trial": trial.trial, "skew_s": trial.skew_s, "ordering": trial.ordering,
            "gap_s": trial.gap_s,
            "measured_gap_s": round(abs(record.skewed_at - record.honest_at), 4),
            "newer": newer, "winner": ",".join(record.winners) or "-",
            "newer_write_lost": value != newer_value, "final_value": value,
            "repository": trial.repository,
        })
    frame = pd.DataFrame(rows, columns=list(SKEW_COLUMNS))
    return frame.sort_values("trial").reset_index(drop=True)


def skew_summary(trials: pd.DataFrame) -> pd.DataFrame:
    """Per (skew, ordering): trials and the share in which last_write_wins lost the newer write."""
    columns = ["skew_s", "ordering", "trials", "newer_write_lost_share"]
    if trials.empty:
        return pd.DataFrame(columns=columns)
    grouped = trials.groupby(["skew_s", "ordering"], as_index=False).agg(
        trials=("trial", "count"), newer_write_lost_share=("newer_write_lost", "mean"))
    return grouped[columns].sort_values(["ordering", "skew_s"]).reset_index(drop=True)


def flat_conflict(conflict: Mapping[str, Any]) -> dict[str, Any]:
    """A server conflict record as one flat row (each side described in one line)."""
    server = conflict.get("server") or {}
    return {
        "conflict_id": conflict.get("conflict_id"), "repository": conflict.get("repository"),
        "task_id": conflict.get("task_id"), "change_id": conflict.get("change_id"),
        "strategy": conflict.get("strategy"), "winner": conflict.get("winner"),
        "base_version": conflict.get("base_version"),
        "server": describe(task_fields(server)),
        "client": describe(task_fields(conflict.get("client"))),
        "resolved": describe(task_fields(conflict.get("resolved"))),
        "client_updated_at": conflict.get("client_updated_at"),
        "server_updated_at": server.get("updated_at"),
        "fields": ",".join(conflict.get("fields") or []),
    }


def analyse(cells: Sequence[CellRecord], trials: Sequence[TrialRecord], final: FinalState,
            reported: Sequence[dict[str, Any]], history: History
            ) -> tuple[dict[str, pd.DataFrame], list[CheckResult], Metrics]:
    """The run's frames, checks and metrics (durations are added by the caller)."""
    records = records_by_task(list(final.conflict_log) + list(reported))
    outcomes = outcome_rows(cells, final, records)
    sides = [side for record in cells for side in record.contest.sides]
    skew_trials = skew_rows(trials, final)
    frames = {
        "outcomes": outcomes,
        "sides": pd.DataFrame([{**s.to_dict(), "changed": short_fields(s.changed)}
                               for s in sides], columns=list(SIDE_COLUMNS)),
        "conflicts": pd.DataFrame([flat_conflict(c) for c in final.conflict_log]),
        "skew_trials": skew_trials,
        "skew_summary": skew_summary(skew_trials),
        "operations": history.to_frame(),
        "fault_windows": fault_windows(history),
    }
    checks = [
        conflicts_reported_once(reported, final.conflict_log),
        expected_conflicts_reported(outcomes),
        winner_matches_strategy(outcomes),
        no_silently_lost_changes(sides, final.server, list(final.conflict_log) + list(reported)),
        replicas_converge(final),
    ]
    return frames, checks, outcome_metrics(outcomes, skew_trials)


def replicas_converge(final: FinalState) -> CheckResult:
    """`convergence` of the server and the replicas: A and B hold every unit's repository;
    a third replica (C, in generated contests) is compared on the repositories it holds."""
    whole = convergence(final.states())
    partial = final.partial_holders()
    if not partial:
        return whole
    return compose("convergence", {"server, A, B": whole, **{
        f"server, {holder}": convergence(final.states_of(holder)) for holder in partial}})


def outcome_metrics(outcomes: pd.DataFrame, trials: pd.DataFrame) -> Metrics:
    """Counts over the matrix and the sweep's losses, each with its unit."""
    metrics = Metrics()
    generated = outcomes["workload"] == "generated"
    metrics.add("cells", int((~generated).sum()), COUNT)
    metrics.add("generated_contests", int(generated.sum()), COUNT)
    if generated.any():
        metrics.add("generated_contests_as_expected", int(
            (~outcomes.loc[generated, "outcome"].isin(["unexpected", "silently lost"])).sum()),
            COUNT)
    metrics.add("conflicts_reported", int(outcomes["conflicts_reported"].sum()), COUNT)
    metrics.add("cells_as_expected",
                int((~outcomes["outcome"].isin(["unexpected", "silently lost"])).sum()), COUNT)
    metrics.add("silently_lost_sides",
                int(sum(len(v.split(",")) for v in outcomes["silently_lost"] if v)), COUNT)
    metrics.add("newer_write_lost_cells",
                int(sum(1 for kept in outcomes["newer_kept"] if kept is False)), COUNT)
    if len(trials):
        metrics.add("lww_trials", len(trials), COUNT)
        metrics.add("lww_newer_write_lost_share",
                    round(float(trials["newer_write_lost"].mean()), 3), RATIO)
        losing = trials.loc[trials["newer_write_lost"], "skew_s"].abs()
        metrics.add("lww_smallest_losing_skew_s", float(losing.min()) if len(losing) else None, S)
    return metrics


__all__ = ["OUTCOME_COLUMNS", "SKEW_COLUMNS", "analyse", "contest_grid", "flat_conflict",
           "outcome_label", "outcome_metrics", "outcome_rows", "replicas_converge", "skew_rows",
           "skew_summary", "winner_label"]
