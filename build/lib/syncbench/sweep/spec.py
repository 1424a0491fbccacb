"""What a sweep runs: one study, its parameters, a range of seeds and a grid of values.

    seeds("1-200")             -> [1, 2, ..., 200]
    seeds("1,5,9-11")          -> [1, 5, 9, 10, 11]
    grid(["profiles=[lan],[wan]", "fault_windows=4,8"])
                               -> four cells, every combination, in the order given

Every cell is checked against the study's notebook before anything runs (the runner's own
`plan_studies`), so a bad name or value stops the sweep with one line, not two hundred.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from syncbench.params import ParameterError
from syncbench.runner.plan import plan_studies

MAX_INSTANCES = 100_000  # cells x seeds: a typo like 1-10000000 stops before it starts
SEED_PARAMETER = "seed"
SHRINK_PARAMETER = "shrink_budget_s"


def seeds(text: str) -> list[int]:
    """Seeds from "N", "A-B" (inclusive) and comma-separated lists of those, in order,
    each once; ParameterError saying what is wrong otherwise."""
    found: list[int] = []
    for part in (p.strip() for p in str(text).split(",")):
        low, sep, high = part.partition("-")
        try:
            start, end = (int(low), int(high)) if sep else (int(part), int(part))
        except ValueError:
            raise ParameterError(f"--seeds: {part!r} is not a seed or a range; give e.g. "
                                 "1-200 or 1,5,9-12 (whole numbers)") from None
        if start > end:
            raise ParameterError(f"--seeds: range {part!r} runs backwards; give {end}-{start}")
        if end - start >= MAX_INSTANCES:
            raise ParameterError(f"--seeds: {part!r} has more than {MAX_INSTANCES} seeds")
        found.extend(range(start, end + 1))
    return list(dict.fromkeys(found))


def grid(texts: Sequence[str]) -> list[dict[str, Any]]:
    """The cells of `--grid name=v1,v2` options: every combination of their values (read
    as YAML, split on commas outside brackets), in the order given; [{}] without any."""
    axes: dict[str, list[Any]] = {}
    for text in texts:
        name, sep, values = text.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise ParameterError(f"--grid {text!r}: give name=value1,value2 (e.g. "
                                 "fault_windows=4,8)")
        if name == SEED_PARAMETER:
            raise ParameterError("--grid seed: the sweep sets the seed; give --seeds")
        if name in axes:
            raise ParameterError(f"--grid {name}: given twice; put all its values in one")
        axes[name] = [_value(name, piece) for piece in _split(values)]
    names = list(axes)
    return [dict(zip(names, combination, strict=True))
            for combination in itertools.product(*axes.values())]


def _split(values: str) -> list[str]:
    """Comma-separated pieces, keeping commas inside [] and {} (a list is one value)."""
    pieces, depth, current = [], 0, ""
    for char in values:
        depth += char in "[{"
        depth -= char in "]}"
        if char == "," and depth == 0:
            pieces.append(current)
            current = ""
        else:
            current += char
    return [piece.strip() for piece in [*pieces, current]]


def _value(name: str, text: str) -> Any:
    if not text:
        raise ParameterError(f"--grid {name}: an empty value; give name=value1,value2")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParameterError(f"--grid {name}: {text!r} is not a YAML value ({exc})") from None


def cell_label(cell: dict[str, Any]) -> str:
    """A cell as `name=value name2=value2` (`defaults` for the one cell of no grid)."""
    return " ".join(f"{name}={yaml.safe_dump(value, default_flow_style=True).strip()}"
                    .replace("\n...", "") for name, value in cell.items()) or "defaults"


@dataclass(frozen=True)
class Instance:
    """One study run of the sweep: a cell's parameters with one seed, all resolved."""

    index: int
    cell: int  # index into the sweep's cells
    seed: int
    parameters: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class SweepPlan:
    study: str
    notebook: Path
    cells: list[dict[str, Any]]
    seeds: list[int]
    instances: list[Instance]


def plan_sweep(notebooks_dir: Path, study: str, params_file: Path | None,
               overrides: dict[str, Any], cells: list[dict[str, Any]],
               seed_list: list[int], shrink: bool = False) -> SweepPlan:
    """Every instance's parameters, each cell checked by the runner's own planning; a
    ParameterError (naming the cell) before anything runs. Unless `shrink` (or the
    parameter is given), a study that shrinks failing runs does not: a sweep asks which
    seeds fail, and each failing seed replays alone to be shrunk there."""
    if SEED_PARAMETER in overrides:
        raise ParameterError("-p seed: the sweep sets the seed; give --seeds")
    if not seed_list:
        raise ParameterError("--seeds: no seed given")
    if len(cells) * len(seed_list) > MAX_INSTANCES:
        raise ParameterError(f"{len(cells)} cells x {len(seed_list)} seeds is more than "
                             f"{MAX_INSTANCES} runs")
    resolved = []
    notebook = None
    for cell in cells:
        try:
            [plan] = plan_studies(notebooks_dir, [study], params_file, {**overrides, **cell})
        except ParameterError as exc:
            raise ParameterError(f"grid cell {cell_label(cell)}: {exc}" if cell
                                 else str(exc)) from None
        if SEED_PARAMETER not in plan.declared:
            raise ParameterError(f"study {study!r} takes no seed parameter: a sweep has "
                                 "nothing to vary")
        notebook = plan.notebook
        parameters = dict(plan.parameters)
        if (not shrink and SHRINK_PARAMETER in plan.declared
                and SHRINK_PARAMETER not in {**overrides, **cell}):
            parameters[SHRINK_PARAMETER] = 0.0
        resolved.append(parameters)
    # seed by seed, every cell of a seed together: a sweep stopped early has covered its
    # cells alike
    instances = [Instance(index, cell_index, seed, {**parameters, SEED_PARAMETER: seed})
                 for index, (seed, cell_index, parameters) in enumerate(
                     (s, c, p) for s in seed_list for c, p in enumerate(resolved))]
    assert notebook is not None
    return SweepPlan(study, notebook, cells, seed_list, instances)


__all__ = ["Instance", "SweepPlan", "cell_label", "grid", "plan_sweep", "seeds"]
