"""Line coverage of lib/tasksync in every process a run's studies start (the kernel with its
clients and replicas, each `tasksync serve` server, each `tasksync` CLI process), combined
into the run summary's `coverage` section and coverage.py's HTML report.

How it reaches the processes: coverage.py (>= 7.10) installs a start-up hook (a .pth file)
that measures any new Python process whose environment names a config file in
COVERAGE_PROCESS_START. While a study runs, this process's environment names that study's
config, so the kernel and everything it starts inherit it. Each study has its own config,
data directory and static context (the HTML report says which study ran a line); every path
is absolute, so no data file lands in the project root or a notebook's directory.

An outer measurement (pytest-cov under `make test` measures subprocesses the same way) would
otherwise lose the study processes it measured before this existed: the same data is handed
to it as one more of its parallel data files, so its total does not change.

Layout under <out>/coverage/: data/<study>/ (config and that study's data), .coverage (the
run's data, combined), html/ (coverage.py's report, with missed lines and branches).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncbench.runner.coverage_summary import (
    ModuleCoverage,
    coverage_section,
    module_coverage,
    package_label,
)

COVERAGE_DIR = "coverage"
# What starts measuring in a new process, and where it writes: set for our children only.
_CHILD_ENVIRONMENT = ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG", "COVERAGE_FILE")
_CONFIG_DATA_PREFIX = ":data:"  # coverage.control.CONFIG_DATA_PREFIX


def package_dir() -> Path:
    """The directory of the tasksync package this interpreter (and so every child) imports."""
    import tasksync

    return Path(tasksync.__file__).resolve().parent


@dataclass(frozen=True)
class OuterMeasurement:
    """A coverage measurement that was going to measure our child processes itself."""

    data_file: Path
    branch: bool
    source: tuple[str, ...]
    source_pkgs: tuple[str, ...]

    def wants(self, filename: str) -> bool:
        """Would the outer measurement have recorded this file? (Its source directories
        decide; with package names or no source given, every file counts.)"""
        if self.source_pkgs or not self.source or not all(Path(s).is_dir() for s in self.source):
            return True
        return any(Path(filename).is_relative_to(s) for s in self.source)


def outer_measurement(environ: Mapping[str, str] | None = None) -> OuterMeasurement | None:
    """The measurement the environment asks child processes to join, read as a child would
    read it; None when there is none."""
    import coverage

    environ = os.environ if environ is None else environ
    data = environ.get("COVERAGE_PROCESS_CONFIG")
    start = environ.get("COVERAGE_PROCESS_START")
    if not data and not start:
        return None
    config = coverage.Coverage(
        config_file=_CONFIG_DATA_PREFIX + data if data else start  # type: ignore[arg-type]
    ).config
    return OuterMeasurement(
        data_file=Path(os.path.abspath(config.data_file)),
        branch=bool(config.branch),
        source=tuple(config.source or ()),
        source_pkgs=tuple(config.source_pkgs or ()),
    )


class RunCoverage:
    """Measures each study of a run in turn (`with measurement.study(name): ...`), then
    `finish()` combines, reports and returns the summary's `coverage` section."""

    def __init__(self, out_dir: Path, package: Path | None = None) -> None:
        self.root = (out_dir / COVERAGE_DIR).resolve()
        self.package = (package or package_dir()).resolve()
        # an earlier run into the same directory must not count: combine would add its data
        shutil.rmtree(self.root, ignore_errors=True)
        # read before any study changes the environment: it is the outer one's
        self.outer = outer_measurement()
        self.studies: list[str] = []
        self.left_out: dict[str, str] = {}

    def leave_out(self, study: str, reason: str) -> None:
        """Run `study` unmeasured (say why in the summary)."""
        self.left_out[study] = reason

    def _study_dir(self, study: str) -> Path:
        return self.root / "data" / study

    @contextlib.contextmanager
    def study(self, study: str) -> Iterator[None]:
        """While inside, every Python process this one starts measures into `study`'s data."""
        directory = self._study_dir(study)
        directory.mkdir(parents=True, exist_ok=True)
        config = directory / "coveragerc"
        config.write_text(self._config(directory / ".coverage", context=study), encoding="utf-8")
        saved = {name: os.environ.get(name) for name in _CHILD_ENVIRONMENT}
        for name in _CHILD_ENVIRONMENT:
            os.environ.pop(name, None)
        os.environ["COVERAGE_PROCESS_START"] = str(config)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            if study not in self.studies:
                self.studies.append(study)

    def _config(self, data_file: Path, context: str = "") -> str:
        """A coverage.py config (ini): branch data for the HTML report, one data file per
        process (parallel), and sigterm so a server stopped by SIGTERM still saves (uvicorn
        re-raises the signal after its graceful shutdown)."""
        sources = [str(self.package)]
        pkgs: list[str] = []
        if self.outer is not None:  # measure what the outer one would have measured, too
            sources += [s for s in self.outer.source if s not in sources]
            pkgs = list(self.outer.source_pkgs)
        lines = [
            "[run]",
            "branch = True",
            "parallel = True",
            "sigterm = True",
            f"data_file = {_ini(str(data_file))}",
            "source =",
            *(f"    {_ini(s)}" for s in sources),
        ]
        if pkgs:
            lines += ["source_pkgs =", *(f"    {_ini(p)}" for p in pkgs)]
        if context:
            lines.append(f"context = {_ini(context)}")
        lines += ["", "[html]", "show_contexts = True",
                  f"title = {_ini(package_label(self.package) + ' reached by the studies')}", ""]
        return "\n".join(lines)

    def finish(self) -> dict[str, Any]:
        """Combine each study's data and the run's, write the HTML report, hand the data to an
        outer measurement if there is one, and return the `coverage` section."""
        import coverage

        files = sorted(self.package.rglob("*.py"))
        per_study: dict[str, list[ModuleCoverage]] = {}
        processes: dict[str, int] = {}
        combined: list[str] = []
        for study in self.studies:
            directory = self._study_dir(study)
            parts = sorted(directory.glob(".coverage.*"))
            processes[study] = len(parts)
            cov = coverage.Coverage(data_file=str(directory / ".coverage"),
                                    config_file=str(directory / "coveragerc"))
            cov.load()  # unread data would be erased by the first update, not added to
            if parts:
                cov.combine([str(directory)], keep=False)
                cov.save()
            if (directory / ".coverage").exists():
                combined.append(str(directory / ".coverage"))
            per_study[study] = self._modules(cov, files)

        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "coveragerc"
        config.write_text(self._config(self.root / ".coverage"), encoding="utf-8")
        run_cov = coverage.Coverage(data_file=str(self.root / ".coverage"),
                                    config_file=str(config))
        if combined:
            run_cov.combine(combined, keep=True)
            run_cov.save()
        data = run_cov.get_data()
        if self.outer is not None:
            hand_to_outer(data, self.outer)
        modules = self._modules(run_cov, files)
        html = self._html(run_cov, files) if data.measured_files() else None
        return coverage_section(
            package=package_label(self.package),
            modules=modules,
            studies=per_study,
            processes=processes,
            html=html,
            data_file=f"{COVERAGE_DIR}/.coverage",
            left_out=self.left_out,
        )

    def _modules(self, cov: Any, files: list[Path]) -> list[ModuleCoverage]:
        modules = []
        for path in files:
            _, statements, _, missing, _ = cov.analysis2(str(path))
            modules.append(module_coverage(path, self.package, len(statements), len(missing)))
        return modules

    def _html(self, cov: Any, files: list[Path]) -> str:
        """coverage.py's HTML report over every module (those no study imported at 0%)."""
        data = cov.get_data()
        measured = set(data.measured_files())
        data.touch_files([str(p) for p in files if str(p) not in measured])
        directory = self.root / "html"
        cov.html_report(directory=str(directory), include=[f"{self.package}{os.sep}*"])
        return f"{COVERAGE_DIR}/html/index.html"


def hand_to_outer(data: Any, outer: OuterMeasurement) -> Path | None:
    """Write `data` (a CoverageData) as one parallel data file of the outer measurement, in
    its kind (lines or branches), keeping only files it measures; returns the file written."""
    from coverage import CoverageData

    files = [f for f in sorted(data.measured_files()) if outer.wants(f)]
    if not files:
        return None
    arcs = _outer_measures_arcs(outer)
    if arcs and not data.has_arcs():
        return None  # lines cannot become branches, and a mixed combine fails outright
    target = CoverageData(basename=str(outer.data_file), suffix=True)
    if arcs:
        target.add_arcs({f: data.arcs(f) or [] for f in files})
    elif data.has_arcs():
        # line 0 too: a line measurement records it for an empty module (lines() drops it)
        target.add_lines({f: sorted({n for arc in data.arcs(f) or [] for n in arc if n >= 0})
                          for f in files})
    else:
        target.add_lines({f: data.lines(f) or [] for f in files})
    target.write()
    return Path(target.data_filename())


def _outer_measures_arcs(outer: OuterMeasurement) -> bool:
    """Whether the outer measurement's data holds branches: what its data files already
    hold when there are any (combining lines with branches fails the whole measurement),
    else what a running in-process measurement says, else its config."""
    from coverage import Coverage, CoverageData

    for path in sorted(outer.data_file.parent.glob(outer.data_file.name + "*")):
        try:
            existing = CoverageData(basename=str(path))
            existing.read()
        except Exception:  # noqa: BLE001 - a file being written, or not a data file
            continue
        if existing.measured_files():
            return existing.has_arcs()
    current = Coverage.current()
    if current is not None and Path(os.path.abspath(current.config.data_file)) == outer.data_file:
        return bool(current.config.branch)
    return outer.branch


def _ini(value: str) -> str:
    # coverage.py substitutes $NAME in config values; a literal $ is written $$
    return value.replace("$", "$$")
