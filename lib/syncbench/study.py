"""The study contract: what a study is, what it takes, what it gives back, and the registry.

A study is a package under `syncbench/studies/<name>/` that registers itself:

    @dataclass(frozen=True)
    class SyncParams(StudyParams):
        replicas: int = param(3, "CLI replicas, each behind its own proxy")

        def validate(self) -> None:          # cross-field rules; types are already checked
            require(self.replicas >= 1, "replicas", self.replicas, "1 or more")

    async def run(params: SyncParams) -> StudyResult: ...

    STUDY = register(Study("sync", SyncParams, run, "sync.ipynb", "replicas and subscribers"))

Parameters have one source, the params class: its fields (name, annotation, default, help)
are what the runner validates a params file and `-p` against, what `syncbench run --list`
shows, and what the notebook's `parameters` cell must say (`parameters_cell` writes it; a
test compares them). Values are checked strictly (`syncbench.param_types`) when the params
object is made, so a bad value fails before any server starts.

`run(params)` returns a StudyResult: checks (composable, pass/fail/unknown), metrics with
their units, named data frames, the History, the fault schedule as played, and the
environment (versions). `result.report(output_dir)` turns it into the Report the runner reads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import pandas as pd

from syncbench.history import History
from syncbench.metric import Metrics
from syncbench.param_types import ParameterTypeError, conform, notebook_annotation
from syncbench.params import OUTPUT_DIR_HELP
from syncbench.plain import plain
from syncbench.report import Report
from syncbench.verdict import CheckResult, StudyChecks

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"


class StudyParamError(ValueError):
    """A study parameter that cannot be used: names the parameter, the value, what is accepted."""

    def __init__(self, name: str, value: Any, accepted: str) -> None:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(f"parameter {name!r}: {accepted}, got {shown}")
        self.name = name
        self.value = value


def annotation_text(annotation: Any) -> str:
    """A field's annotation as text: as written when it is a string (modules with `from
    __future__ import annotations`), a class by its name ("int", not "<class 'int'>"),
    anything else as Python prints it ("list[str]", "typing.Literal['a']", "int | None")."""
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return str(annotation)


def param(default: Any, help: str) -> Any:
    """A params-class field with its default and the one-line help the notebook shows."""
    if isinstance(default, list | dict | set):
        frozen = default
        return field(default_factory=lambda: type(frozen)(frozen), metadata={"help": help})
    return field(default=default, metadata={"help": help})


def require(condition: bool, name: str, value: Any, accepted: str) -> None:
    """Raise StudyParamError(name, value, accepted) unless `condition` holds."""
    if not condition:
        raise StudyParamError(name, value, accepted)


@dataclass(frozen=True)
class ParamField:
    """One parameter of a study as the runner, `--list` and the notebook see it."""

    name: str
    annotation: str
    default: Any
    help: str


@dataclass(frozen=True)
class StudyParams:
    """What every study takes. Subclasses add fields with `param(...)` and rules in `validate`.

    Field values are checked against their annotations when the object is made (a list is
    accepted for a tuple); `validate` then checks what spans fields or needs lookups.
    """

    seed: int = param(1, "seeds every random choice of the run (workload, faults, timing)")
    seeded_bug: str = param("", "a deliberate defect of server, client or replica "
                                "(tasksync.bugs), only to prove the checks catch it; '' for none")
    schedule: list[dict] = param([], "fault schedule to play instead of the study's own "
                                     "(a list of windows; --replay fills it); [] for the study's")
    store: str = param("sqlite", "where the embedded server keeps tasks: sqlite (a file), "
                                 "postgresql (a database started for the run, or a new one on "
                                 "the server TASKSYNC_DATABASE_URL names) or qdrant "
                                 "(QDRANT_URL's server, else local mode: syncbench.qdrant)")
    target: str = param("embedded", "where the server runs: embedded (a `tasksync serve` "
                                    "process) or container (server and Toxiproxy as Docker "
                                    "containers on the host network: make containers)")
    image: str = param("", "target container: the server image ('' for the tasksync image "
                           "`make containers` built for this source; another must speak "
                           "tasksync's API)")
    image_port: int = param(0, "target container: the port the image listens on, on "
                               "127.0.0.1 (0: a free one, given to it as PORT)")
    image_health: str = param("/health", "target container: the path that answers 200 once "
                                         "the image's server is up")

    study_name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            try:
                value = conform(annotation_text(f.type), value)
            except ParameterTypeError as exc:
                raise StudyParamError(f.name, value, exc.accepted) from None
            object.__setattr__(self, f.name, value)
        from syncbench.stack_config import STORES

        require(self.store in STORES, "store", self.store, f"one of {', '.join(STORES)}")
        require(self.target in ("embedded", "container"), "target", self.target,
                "embedded or container")
        for name in ("image", "image_port"):
            require(not getattr(self, name) or self.target == "container", name,
                    getattr(self, name), "only with target=container")
        require(self.image_health == "/health" or self.target == "container", "image_health",
                self.image_health, "only with target=container")
        require(0 <= self.image_port <= 65535, "image_port", self.image_port, "0..65535")
        from syncbench.containers.images import is_tasksync_image

        require(is_tasksync_image(self.image) or self.store == "sqlite", "store", self.store,
                f"sqlite with another image than ours ({self.image} runs its own command: "
                "the stack cannot give it a store)")
        require(self.image_health.startswith("/"), "image_health", self.image_health,
                "a path starting with /")
        if self.seeded_bug:
            from tasksync.bugs import BUGS

            require(self.seeded_bug in BUGS, "seeded_bug", self.seeded_bug,
                    f"one of {sorted(BUGS)} or '' for none")
        if self.schedule:
            from syncbench.nemesis import ScheduleError, parse_schedule

            try:
                parse_schedule(self.schedule)
            except ScheduleError as exc:
                raise StudyParamError("schedule", self.schedule, str(exc)) from None
        self.validate()

    def validate(self) -> None:
        """Rules that span fields or need lookups (profiles, strategies); raise StudyParamError."""

    def stack_options(self) -> dict[str, Any]:
        """The StackConfig fields these params choose: store, target and image."""
        return {"store": self.store, "target": self.target, "image": self.image,
                "image_port": self.image_port, "image_health": self.image_health}

    @classmethod
    def fields_info(cls) -> dict[str, ParamField]:
        """Every parameter: name, annotation, default and help, in declaration order."""
        out: dict[str, ParamField] = {}
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                default = None
            out[f.name] = ParamField(f.name, annotation_text(f.type), plain(default),
                                     f.metadata.get("help", ""))
        return out

    @classmethod
    def from_mapping(cls: type[P], values: Mapping[str, Any], source: str = "") -> P:
        """The params from plain values (a params file, overrides, a summary); names checked.

        StudyParamError names the unknown parameter and the valid ones, or the bad value.
        """
        known = cls.fields_info()
        unknown = [name for name in values if name not in known]
        if unknown:
            where = f"{source}: " if source else ""
            raise StudyParamError(unknown[0], values[unknown[0]],
                                  f"{where}no such parameter; valid: {', '.join(known)}")
        return cls(**dict(values))

    @classmethod
    def from_notebook(cls: type[P], namespace: Mapping[str, Any]) -> P:
        """The params from a notebook's variables of the same names (e.g. `globals()`)."""
        return cls.from_mapping({name: namespace[name] for name in cls.fields_info()
                                 if name in namespace})

    def to_dict(self) -> dict[str, Any]:
        """Every parameter as plain JSON-able data (for the summary and `--replay`)."""
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def replace(self: P, **changes: Any) -> P:
        return dataclasses.replace(self, **changes)


P = TypeVar("P", bound=StudyParams)


def seeded_bug_options(params: StudyParams) -> tuple[str, ...]:
    """The `tasksync serve` flags that switch on `params.seeded_bug` (empty unless it is a
    server bug)."""
    from tasksync.bugs import server_bugs

    if params.seeded_bug in server_bugs():
        return ("--seeded-bug", params.seeded_bug)
    return ()


def enable_seeded_bug(params: StudyParams) -> SeededBugSwitch:
    """Switch `params.seeded_bug` on in this process now, when it is a client or replica
    bug (the clients and replicas a study drives run here; child processes inherit it).

    Leaving the returned switch (`with enable_seeded_bug(params): ...`, or `close()`)
    puts the switches back as they were, so one process can run studies one after another.
    """
    from tasksync import bugs

    name = params.seeded_bug
    if not name or name in bugs.server_bugs():
        return SeededBugSwitch(None)
    switch = bugs.enabled([name])
    switch.__enter__()  # on now, even for a caller that never enters the `with`
    return SeededBugSwitch(switch)


class SeededBugSwitch:
    """A client or replica seeded bug switched on; `close()` (or leaving `with`) restores."""

    def __init__(self, switch: contextlib.AbstractContextManager[None] | None) -> None:
        self._switch = switch

    def __enter__(self) -> SeededBugSwitch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        switch, self._switch = self._switch, None
        if switch is not None:
            switch.__exit__(None, None, None)


def parameters_cell(params_class: type[StudyParams]) -> str:
    """The notebook `parameters` cell the params class implies: `output_dir` first, then
    each field as `name: type = default  # help`."""
    lines = [f'output_dir: str = "."  # {OUTPUT_DIR_HELP}']
    for info in params_class.fields_info().values():
        default = repr(info.default)
        lines.append(f"{info.name}: {notebook_annotation(info.annotation)} = {default}"
                     + (f"  # {info.help}" if info.help else ""))
    return "\n".join(lines)


@dataclass
class StudyResult(StudyChecks):
    """What `run(params)` gives back; `report(output_dir)` is what the runner reads.

    `frames` are the raw data behind every chart (each saved as `<study>.<name>.csv`);
    `schedule` is the fault schedule as played (syncbench.nemesis), saved for `--replay`;
    `minimal`, for a failing generated run, the shrunk operation and fault schedules that
    still fail (see syncbench.minimal), saved as `<study>.minimal.json`.
    """

    study: str
    params: StudyParams
    checks: list[CheckResult] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    history: History | None = None
    schedule: list[dict[str, Any]] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    minimal: dict[str, Any] | None = None
    # the paths its faults must exercise, with how often each was (syncbench.paths)
    paths: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def seed(self) -> int:
        return self.params.seed

    def metric(self, name: str) -> Any:
        """The value of metric `name`."""
        return self.metrics.value(name)

    def frame(self, name: str) -> pd.DataFrame:
        """The data frame `name`; KeyError naming the frames there are."""
        if name not in self.frames:
            raise KeyError(f"no frame {name!r}; frames: {sorted(self.frames)}")
        return self.frames[name]

    def __getattr__(self, name: str) -> Any:
        # result.operations reads like a field in notebooks; frames are the one store
        frames = self.__dict__.get("frames", {})
        if name in frames:
            return frames[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or frame {name!r}")

    def report(self, output_dir: str | Path = ".") -> Report:
        """A Report holding this run's checks, metrics, frames, schedule and environment."""
        report = Report(study=self.study, output_dir=output_dir,
                        parameters=self.params.to_dict(), seed=self.seed,
                        environment=self.environment)
        for result in self.checks:
            report.check(result)
        for metric in self.metrics.values():
            report.metric(metric.name, metric)
        for name, frame in self.frames.items():
            report.data(name, frame)
        report.schedule = plain(self.schedule)
        report.minimal = plain(self.minimal) if self.minimal else None
        report.paths = plain(self.paths)
        return report


@dataclass(frozen=True)
class Study(Generic[P]):
    """A registered study: its name, params class, `run`, notebook file and one-line summary."""

    name: str
    params: type[P]
    run: Callable[[P], Awaitable[StudyResult]]
    notebook: str
    summary: str = ""
    # Its verdicts rest on timings: `syncbench run` leaves it out of the coverage measurement,
    # whose tracer would slow the server and clients (2-4x) and so distort them.
    timed: bool = False

    @property
    def notebook_path(self) -> Path:
        return NOTEBOOKS_DIR / self.notebook


_REGISTRY: dict[str, Study[Any]] = {}
# The packages under syncbench.studies that register a study when imported.
STUDY_PACKAGES: tuple[str, ...] = ("sync", "resilience", "conflicts", "crash", "replicas",
                                   "mcp", "performance")


def register(study: Study[P]) -> Study[P]:
    """Add `study` to the registry (by name; registering the same name again replaces it)."""
    _REGISTRY[study.name] = study
    return study


def registered_studies() -> dict[str, Study[Any]]:
    """Every registered study by name, after importing the study packages."""
    for package in STUDY_PACKAGES:
        module = f"syncbench.studies.{package}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return dict(_REGISTRY)


def get_study(name: str) -> Study[Any]:
    """The registered study `name`; KeyError naming the studies there are."""
    studies = registered_studies()
    if name not in studies:
        raise KeyError(f"unknown study {name!r}; studies: {', '.join(sorted(studies))}")
    return studies[name]


__all__ = [
    "NOTEBOOKS_DIR", "ParamField", "SeededBugSwitch", "Study", "StudyParamError", "StudyParams",
    "StudyResult", "enable_seeded_bug", "get_study", "parameters_cell", "param", "register",
    "registered_studies", "require", "seeded_bug_options",
]
