"""A shrunk failing run: the record a study keeps, and the `<study>.minimal.json` that replays it.

A study whose check failed on a generated run shrinks the operation schedule (and the fault
schedule) to a minimal one that still fails (`syncbench.shrink`) and sets
`StudyResult.minimal` to::

    {"check": name, "operations": [...], "schedule": [...], "trials": int,
     "elapsed_s": float, "complete": bool}

`Report.save` fills in "file" and "replay" and writes `<study>.minimal.json`: the study,
seed, the check, and the study's parameters with `operations` and `schedule` replaced by the
minimal ones, which `syncbench run --replay FILE` runs again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MINIMAL_SUFFIX = ".minimal.json"
REQUIRED_KEYS = ("check", "operations", "schedule")


def minimal_path(output_dir: str | Path, study: str) -> Path:
    """Where a study's minimal failing case is written in `output_dir`."""
    return Path(output_dir) / f"{study}{MINIMAL_SUFFIX}"


def replay_command(study: str, path: str | Path) -> str:
    """The one command that runs the minimal case again."""
    return f"syncbench run {study} --replay {path}"


def completed_record(minimal: dict[str, Any], study: str,
                     output_dir: str | Path) -> dict[str, Any]:
    """`minimal` with "file" and "replay" filled in; ValueError naming a missing key."""
    missing = [key for key in REQUIRED_KEYS if key not in minimal]
    if missing:
        raise ValueError(f"StudyResult.minimal lacks {', '.join(missing)}; it needs "
                         f"{', '.join(REQUIRED_KEYS)} (see syncbench.minimal)")
    path = minimal_path(output_dir, study)
    return {"trials": 0, "elapsed_s": 0.0, "complete": False, **minimal,
            "file": path.name, "replay": replay_command(study, path)}


def minimal_file(study: str, seed: Any, parameters: dict[str, Any],
                 minimal: dict[str, Any]) -> dict[str, Any]:
    """The content of `<study>.minimal.json`: what `--replay` needs, and how it was found."""
    return {
        "study": study,
        "seed": seed,
        "check": minimal["check"],
        # `parameters` in the record: what else the minimal run changed (e.g. one profile)
        # the parameter that plays the operations: `operations`, or a study's own (contests)
        "operations_parameter": minimal.get("operations_parameter", "operations"),
        "parameters": {**parameters, **minimal.get("parameters", {}), "seed": seed,
                       minimal.get("operations_parameter", "operations"): minimal["operations"],
                       "schedule": minimal["schedule"]},
        "trials": minimal.get("trials"),
        "elapsed_s": minimal.get("elapsed_s"),
        "complete": minimal.get("complete"),
    }
