"""What every benchmark shares: figures with their baselines, the table, the JSON, the CLI.

A Figure is one measured quantity over repeats next to the bare baseline measured in the
same run; its ratio is taken per repeat (measured / baseline) before the median, so a slow
moment of the shared machine hits both sides of a pair alike.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from syncbench.machine import machine_description
from syncbench.stats import median

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "outputs" / "bench"


@dataclass
class Figure:
    """One benchmark figure: samples per repeat, its baseline's samples, and its target.

    `target` is checked against `target_on` ("ratio" or "value") with `target_op`
    ("<=" or ">="); `higher_is_better` says which way the value improves.
    """

    name: str
    unit: str
    samples: list[float]
    baseline: str
    baseline_samples: list[float]
    target: float | None = None
    target_on: str = "ratio"
    target_op: str = ">="
    higher_is_better: bool = True
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratios(self) -> list[float]:
        return [s / b if b else float("nan") for s, b in zip(self.samples, self.baseline_samples, strict=True)]

    def summary(self) -> dict[str, Any]:
        ratios = self.ratios
        checked = median(ratios if self.target_on == "ratio" else self.samples)
        met = None
        if self.target is not None:
            met = checked >= self.target if self.target_op == ">=" else checked <= self.target
        return {
            "name": self.name,
            "unit": self.unit,
            "median": median(self.samples),
            "min": min(self.samples),
            "max": max(self.samples),
            "baseline": self.baseline,
            "baseline_median": median(self.baseline_samples),
            "baseline_min": min(self.baseline_samples),
            "baseline_max": max(self.baseline_samples),
            "ratio_median": median(ratios),
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
            "target": None if self.target is None else
            f"{self.target_on} {self.target_op} {self.target:g}",
            "met": met,
            "repeats": len(self.samples),
            "samples": self.samples,
            "baseline_samples": self.baseline_samples,
            "note": self.note,
            **({"extra": self.extra} if self.extra else {}),
        }


def _fmt(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def print_figures(benchmark: str, figures: Sequence[Figure], file: Any = sys.stdout) -> None:
    """The figures as a table: median [min..max] unit, ratio to baseline, target, met."""
    print_summaries(benchmark, [figure.summary() for figure in figures], file)


def print_summaries(benchmark: str, summaries: Sequence[dict[str, Any]],
                    file: Any = sys.stdout) -> None:
    """Figure summaries (as written to the JSON) as the table print_figures prints."""
    print(f"\n== {benchmark}", file=file)
    for s in summaries:
        verdict = {True: "MET", False: "NOT MET", None: "-"}[s["met"]]
        print(
            f"  {s['name']:<44} {_fmt(s['median']):>10} [{_fmt(s['min'])}..{_fmt(s['max'])}]"
            f" {s['unit']:<8} baseline {s['baseline']}: {_fmt(s['baseline_median'])}"
            f" [{_fmt(s['baseline_min'])}..{_fmt(s['baseline_max'])}]"
            f"  ratio {s['ratio_median']:.3f} [{s['ratio_min']:.3f}..{s['ratio_max']:.3f}]"
            f"  target {s['target'] or '-'}: {verdict}",
            file=file,
        )
        if s["note"]:
            print(f"      {s['note']}", file=file)
    file.flush()


def write_json(benchmark: str, figures: Sequence[Figure], out_dir: Path,
               parameters: dict[str, Any]) -> Path:
    """Write `<out_dir>/<benchmark>.json` with the figures, parameters and machine."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{benchmark}.json"
    data = {
        "benchmark": benchmark,
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "parameters": parameters,
        "figures": [f.summary() for f in figures],
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def arguments(description: str, repeats: int = 3) -> argparse.ArgumentParser:
    """The options every benchmark takes: --repeats and --out."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=repeats, help="repeats (median over them)")
    parser.add_argument("--out", type=Path, default=None,
                        help="directory for the JSON (default outputs/bench/<run-id>/)")
    return parser


def output_dir(given: Path | None) -> Path:
    """`given`, or outputs/bench/$BENCH_RUN_ID (make bench sets one id for all), or a new id."""
    if given is not None:
        return given
    run_id = os.environ.get("BENCH_RUN_ID") or datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return DEFAULT_OUTPUT / run_id


def report(benchmark: str, figures: Sequence[Figure], out: Path | None,
           parameters: dict[str, Any]) -> Path:
    """Print the table and write the JSON; returns the JSON's path."""
    print_figures(benchmark, figures)
    path = write_json(benchmark, figures, output_dir(out), parameters)
    print(f"  -> {path}")
    return path


__all__ = ["Figure", "arguments", "asdict", "output_dir", "print_summaries",
           "report"]
