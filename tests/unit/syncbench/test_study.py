"""syncbench.study: params with strict types and one source, results, and the registry."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
import pytest

import syncbench.study as study_module
from syncbench.metric import MS
from syncbench.study import (
    Study,
    StudyParamError,
    StudyParams,
    StudyResult,
    enable_seeded_bug,
    get_study,
    param,
    parameters_cell,
    register,
    registered_studies,
    require,
    seeded_bug_options,
)
from syncbench.verdict import CheckResult
from tasksync import bugs
from tasksync.bugs import BUGS


@dataclass(frozen=True)
class DemoParams(StudyParams):
    replicas: int = param(3, "CLI replicas")
    budget_ms: float = param(250.0, "p99 budget")
    profiles: tuple[str, ...] = param(("lan", "wan"), "profiles to compare")
    strategy: Literal["server_wins", "merge"] = param("server_wins", "conflict strategy")
    label: str | None = param(None, "a name for the run")

    def validate(self) -> None:
        require(self.replicas >= 1, "replicas", self.replicas, "1 or more")


def test_defaults_make_valid_params_with_the_base_fields() -> None:
    params = DemoParams()
    assert (params.seed, params.seeded_bug, params.schedule) == (1, "", [])
    assert params.profiles == ("lan", "wan")


@pytest.mark.parametrize("name, value, accepted", [
    ("replicas", "3", "an integer"),
    ("replicas", True, "an integer"),
    ("budget_ms", float("nan"), "a finite number"),
    ("profiles", "lan", "a list of strings"),
    ("strategy", "client_wins", "one of 'server_wins', 'merge'"),
    ("label", 5, "a string or null"),
    ("seed", 1.5, "an integer"),
])
def test_a_value_of_the_wrong_type_is_refused_on_construction(name: str, value: object,
                                                              accepted: str) -> None:
    with pytest.raises(StudyParamError) as error:
        DemoParams(**{name: value})
    assert error.value.name == name
    assert str(error.value) == f"parameter {name!r}: {accepted}, got {value!r}"


def test_lossless_conversions_only_an_int_for_a_float_and_a_list_for_a_tuple() -> None:
    params = DemoParams(budget_ms=100, profiles=["wan"])
    assert params.budget_ms == 100.0 and type(params.budget_ms) is float
    assert params.profiles == ("wan",)


def test_validate_runs_after_the_type_checks_and_names_the_rule() -> None:
    with pytest.raises(StudyParamError, match="parameter 'replicas': 1 or more, got 0"):
        DemoParams(replicas=0)


def test_an_unknown_seeded_bug_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(StudyParamError, match="'seeded_bug': one of .*'skip_event'"):
        DemoParams(seeded_bug="typo")
    assert DemoParams(seeded_bug="skip_event").seeded_bug == "skip_event"


@pytest.mark.parametrize("name", sorted(BUGS))
def test_every_seeded_bug_is_accepted(name: str) -> None:
    assert DemoParams(seeded_bug=name).seeded_bug == name


def test_a_server_bug_becomes_serve_flags_and_switches_nothing_here() -> None:
    params = DemoParams(seeded_bug="resume_off_by_one")
    assert seeded_bug_options(params) == ("--seeded-bug", "resume_off_by_one")
    assert seeded_bug_options(DemoParams()) == ()
    before = bugs.switched_on()
    with enable_seeded_bug(params):
        assert bugs.switched_on() == before


def test_a_client_bug_is_on_in_this_process_until_the_switch_closes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # set, then removed: monkeypatch then restores the variable, whoever set it since
    monkeypatch.setenv(bugs.ENV_VAR, "")
    monkeypatch.delenv(bugs.ENV_VAR)
    bugs.refresh()
    params = DemoParams(seeded_bug="retry_new_idempotency_key")
    assert seeded_bug_options(params) == ()
    switch = enable_seeded_bug(params)  # on at once, `with` or not
    assert bugs.active("retry_new_idempotency_key")
    assert os.environ[bugs.ENV_VAR] == "retry_new_idempotency_key"
    with switch:
        pass
    assert not bugs.active("retry_new_idempotency_key")
    assert bugs.ENV_VAR not in os.environ
    switch.close()  # closing twice changes nothing
    assert bugs.switched_on() == frozenset()


def test_a_schedule_that_is_not_a_schedule_is_refused() -> None:
    with pytest.raises(StudyParamError, match="parameter 'schedule'"):
        DemoParams(schedule=[{"fault": "no-such-fault"}])


def test_from_mapping_names_the_unknown_parameter_and_every_valid_one() -> None:
    with pytest.raises(StudyParamError) as error:
        DemoParams.from_mapping({"replicas": 2, "replica": 3}, source="params/default.yaml")
    message = str(error.value)
    assert message.startswith("parameter 'replica': params/default.yaml: no such parameter; "
                              "valid: seed, seeded_bug, schedule, store, target, image, "
                              "image_port, image_health, replicas, budget_ms,")
    assert message.endswith(", got 3")


def test_to_dict_is_plain_and_round_trips_through_from_mapping() -> None:
    params = DemoParams(seed=9, replicas=5, profiles=["wan", "lte"], label="x",
                        strategy="merge")
    data = params.to_dict()
    assert data["profiles"] == ["wan", "lte"]  # plain: a list, not a tuple
    assert json.loads(json.dumps(data)) == data
    assert DemoParams.from_mapping(data) == params


def test_from_notebook_takes_the_parameters_and_ignores_other_variables() -> None:
    namespace = {"replicas": 4, "output_dir": "/tmp/out", "pd": pd, "seed": 3}
    params = DemoParams.from_notebook(namespace)
    assert (params.replicas, params.seed, params.budget_ms) == (4, 3, 250.0)


def test_parameters_cell_writes_every_field_with_its_type_default_and_help() -> None:
    @dataclass(frozen=True)
    class SmallParams(StudyParams):
        clients: int = param(2, "clients that write")
        profiles: tuple[str, ...] = param(("lan",), "network profiles")

    assert parameters_cell(SmallParams).splitlines() == [
        'output_dir: str = "."  # where results and raw data go (the runner sets it)',
        "seed: int = 1  # seeds every random choice of the run (workload, faults, timing)",
        "seeded_bug: str = ''  # a deliberate defect of server, client or replica "
        "(tasksync.bugs), only to prove the checks catch it; '' for none",
        "schedule: list[dict] = []  # fault schedule to play instead of the study's own "
        "(a list of windows; --replay fills it); [] for the study's",
        "store: str = 'sqlite'  # where the embedded server keeps tasks: sqlite (a file), "
        "postgresql (a database started for the run, or a new one on the server "
        "TASKSYNC_DATABASE_URL names) or qdrant (QDRANT_URL's server, else local mode: "
        "syncbench.qdrant)",
        "target: str = 'embedded'  # where the server runs: embedded (a `tasksync serve` "
        "process) or container (server and Toxiproxy as Docker containers on the host "
        "network: make containers)",
        "image: str = ''  # target container: the server image ('' for the tasksync image "
        "`make containers` built for this source; another must speak tasksync's API)",
        "image_port: int = 0  # target container: the port the image listens on, on "
        "127.0.0.1 (0: a free one, given to it as PORT)",
        "image_health: str = '/health'  # target container: the path that answers 200 once "
        "the image's server is up",
        "clients: int = 2  # clients that write",
        "profiles: list[str] = ['lan']  # network profiles",
    ]


def test_the_container_target_and_its_image_are_checked() -> None:
    assert DemoParams(target="container", image="mine:1", image_port=8080).stack_options() == {
        "store": "sqlite", "target": "container", "image": "mine:1", "image_port": 8080,
        "image_health": "/health"}
    with pytest.raises(StudyParamError, match="parameter 'target'.*embedded or container"):
        DemoParams(target="kubernetes")
    with pytest.raises(StudyParamError, match="parameter 'image'.*only with target=container"):
        DemoParams(image="mine:1")
    with pytest.raises(StudyParamError, match="parameter 'image_port'"):
        DemoParams(target="container", image_port=70000)
    with pytest.raises(StudyParamError, match="parameter 'image_health'"):
        DemoParams(target="container", image_health="health")
    with pytest.raises(StudyParamError, match="parameter 'image_health'.*only with target"):
        DemoParams(image_health="/ready")
    with pytest.raises(StudyParamError, match="parameter 'store'.*mine:1 runs its own command"):
        DemoParams(target="container", image="mine:1", store="postgresql")
    assert DemoParams(target="container", image="syncbench/tasksync:abc", store="postgresql")


def test_annotations_that_are_classes_are_checked_too() -> None:
    # a params module without `from __future__ import annotations` gives classes, not text
    Real = dataclasses.make_dataclass(
        "Real", [("clients", int, param(2, "clients")), ("names", list[str], param([], "n"))],
        bases=(StudyParams,), frozen=True)
    with pytest.raises(StudyParamError, match="'clients': an integer"):
        Real(clients="2")
    assert "clients: int = 2  # clients" in parameters_cell(Real)
    assert "names: list[str] = []  # n" in parameters_cell(Real)


def test_a_list_default_is_not_shared_between_instances() -> None:
    first, second = DemoParams(), DemoParams()
    assert first.schedule == [] and first.schedule is not second.schedule


# -- results --------------------------------------------------------------------------------


def demo_result() -> StudyResult:
    result = StudyResult(study="demo", params=DemoParams(seed=4),
                         checks=[CheckResult("c", True, "0 bad", "0 bad")],
                         frames={"latencies": pd.DataFrame({"ms": [1.0, 2.0]})},
                         schedule=[{"at": 0.0, "for": 1.0, "fault": "offline",
                                    "target": "group-a"}])
    result.metrics.add("p99_ms", 2.0, MS)
    return result


def test_a_result_reads_its_frames_metrics_and_seed() -> None:
    result = demo_result()
    assert result.seed == 4
    assert result.metric("p99_ms") == 2.0
    assert result.latencies is result.frame("latencies")
    with pytest.raises(KeyError, match=r"no frame 'missing'; frames: \['latencies'\]"):
        result.frame("missing")
    with pytest.raises(AttributeError, match="no attribute or frame 'missing'"):
        _ = result.missing


def test_report_holds_checks_metrics_frames_schedule_and_params(tmp_path: Path) -> None:
    report = demo_result().report(tmp_path)
    saved = json.loads(report.save().read_text())
    assert saved["status"] == "pass"
    assert saved["parameters"]["seed"] == 4 and saved["seed"] == 4
    assert saved["metrics"] == {"p99_ms": {"value": 2.0, "unit": "ms"}}
    assert saved["schedule"][0]["fault"] == "offline"
    assert (tmp_path / "demo.latencies.csv").read_text().splitlines() == ["ms", "1.0", "2.0"]


# -- registry -------------------------------------------------------------------------------


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict:
    fresh: dict = {}
    monkeypatch.setattr(study_module, "_REGISTRY", fresh)
    monkeypatch.setattr(study_module, "STUDY_PACKAGES", ())
    return fresh


async def run_demo(params: DemoParams) -> StudyResult:
    return StudyResult(study="demo", params=params)


def test_a_registered_study_is_found_by_name(registry: dict) -> None:
    demo = register(Study("demo", DemoParams, run_demo, "demo.ipynb", "a demo"))
    assert get_study("demo") is demo
    assert registered_studies() == {"demo": demo}
    assert demo.notebook_path.name == "demo.ipynb"


def test_registering_a_name_again_replaces_the_study(registry: dict) -> None:
    register(Study("demo", DemoParams, run_demo, "demo.ipynb"))
    newer = register(Study("demo", DemoParams, run_demo, "demo-v2.ipynb"))
    assert get_study("demo") is newer and len(registry) == 1


def test_an_unknown_study_names_the_studies_there_are(registry: dict) -> None:
    register(Study("sync", DemoParams, run_demo, "sync.ipynb"))
    register(Study("conflicts", DemoParams, run_demo, "conflicts.ipynb"))
    with pytest.raises(KeyError, match="unknown study 'perf'; studies: conflicts, sync"):
        get_study("perf")
