"""The run summary's `coverage` section: lines of lib/tasksync the studies ran, per module, per
study and in total. Plain arithmetic over counts; coverage_measure gets the counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOWEST_SHOWN = 5


@dataclass(frozen=True)
class ModuleCoverage:
    """One module's statements and how many of them no study ran."""

    module: str  # dotted, e.g. "tasksync.server.http_api"
    path: str  # as the project names it, e.g. "lib/tasksync/server/http_api.py"
    statements: int
    missed: int

    @property
    def covered(self) -> int:
        return self.statements - self.missed

    @property
    def percent(self) -> float:
        return percent(self.covered, self.statements)

    def to_dict(self) -> dict[str, Any]:
        return {"module": self.module, "path": self.path, "statements": self.statements,
                "missed": self.missed, "percent": self.percent}


def percent(covered: int, statements: int) -> float:
    """Covered statements as a percentage with one decimal; a module without statements
    (an empty __init__) counts as fully covered, as coverage.py counts it."""
    if statements == 0:
        return 100.0
    # floor, not round: 99.96% must not read as 100.0 while a line was never run
    return int(1000 * covered / statements) / 10


def module_name(path: Path, package_dir: Path) -> str:
    """The dotted module name of `path` inside the package at `package_dir`:
    <pkg>/server/__init__.py -> "tasksync.server"."""
    parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_label(package_dir: Path) -> str:
    """The package as the project names it: <root>/lib/tasksync -> "lib/tasksync"."""
    return f"{package_dir.parent.name}/{package_dir.name}"


def module_coverage(path: Path, package_dir: Path, statements: int,
                    missed: int) -> ModuleCoverage:
    """A ModuleCoverage for the file `path` of the package at `package_dir`."""
    if not 0 <= missed <= statements:
        raise ValueError(f"{path}: {missed} missed of {statements} statements is impossible")
    inside = path.relative_to(package_dir).as_posix()
    return ModuleCoverage(module=module_name(path, package_dir),
                          path=f"{package_label(package_dir)}/{inside}",
                          statements=statements, missed=missed)


def totals(modules: Iterable[ModuleCoverage]) -> dict[str, Any]:
    """Statements, missed, covered and percent summed over `modules`."""
    modules = list(modules)
    statements = sum(m.statements for m in modules)
    missed = sum(m.missed for m in modules)
    return {"statements": statements, "missed": missed, "covered": statements - missed,
            "percent": percent(statements - missed, statements)}


def lowest(modules: Iterable[ModuleCoverage], count: int = LOWEST_SHOWN) -> list[ModuleCoverage]:
    """The `count` modules with the lowest percent (most missed lines first on a tie)."""
    return sorted(modules, key=lambda m: (m.percent, -m.missed, m.module))[:count]


def coverage_section(
    package: str,
    modules: Iterable[ModuleCoverage],
    studies: Mapping[str, Iterable[ModuleCoverage]],
    processes: Mapping[str, int],
    html: str | None,
    data_file: str | None,
    left_out: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The summary's `coverage` section: the run's total and modules (combined over every
    measured study), each study's total and how many processes wrote data, the studies left
    out (and why), and where the files are."""
    modules = sorted(modules, key=lambda m: m.module)
    return {
        "enabled": True,
        "package": package,
        "measure": "lines",
        **totals(modules),
        "lowest": [m.module for m in lowest(modules)],
        "modules": [m.to_dict() for m in modules],
        "studies": {
            study: {**totals(study_modules), "processes": processes.get(study, 0)}
            for study, study_modules in studies.items()
        },
        "left_out": dict(left_out or {}),
        "html": html,
        "data_file": data_file,
    }


def disabled_section(reason: str) -> dict[str, Any]:
    """The `coverage` section of a run that measured none."""
    return {"enabled": False, "reason": reason}
