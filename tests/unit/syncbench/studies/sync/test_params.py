"""SyncParams: defaults, strict types, the rules across fields, and a given schedule."""

from __future__ import annotations

import pytest

from syncbench.studies.notebook import parameters_cell_of
from syncbench.studies.sync import STUDY, SyncParams
from syncbench.study import StudyParamError, parameters_cell


def test_defaults_are_valid_and_lists_become_tuples() -> None:
    params = SyncParams(profiles=["lan", "wan"])  # type: ignore[arg-type]
    assert params.profiles == ("lan", "wan")
    assert params.to_dict()["profiles"] == ["lan", "wan"]
    assert params.workload == "generated" and params.operations == []
    assert params.groups == ("replica-0", "replica-1", "replica-2", "subscriber-0",
                             "subscriber-1", "client-0", "client-1", "client-2", "cli-0")
    nominal = params.replace(workload="nominal")
    assert nominal.groups == ("replica-0", "replica-1", "replica-2", "subscriber-0",
                              "subscriber-1"), "the nominal workload has no HTTP clients"
    assert "cli-0" not in params.replace(cli_replicas=0).groups


def test_the_notebook_parameters_cell_is_the_params_class() -> None:
    assert parameters_cell_of(STUDY.notebook_path) == parameters_cell(SyncParams)


def test_params_come_back_from_their_plain_form() -> None:
    params = SyncParams(profiles=("wan",), offline_s=1.5, seed=9)
    assert SyncParams.from_mapping(params.to_dict()) == params


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"profiles": []}, "profiles"),
        ({"profiles": ["no-such-profile"]}, "profiles"),
        ({"profiles": ["outage"]}, "profiles"),
        ({"profiles": ["lan", "lan"]}, "profiles"),
        ({"profiles": "lan"}, "profiles"),
        ({"replicas": 0}, "replicas"),
        ({"replicas": 2.5}, "replicas"),
        ({"replicas": "3"}, "replicas"),
        ({"subscribers": -1}, "subscribers"),
        ({"repositories": 4, "replicas": 3}, "repositories"),
        ({"operations_per_replica": 0}, "operations_per_replica"),
        ({"mix": {"create": 1, "rename": 1}}, "mix"),
        ({"mix": {"update": 1}}, "mix"),
        ({"mix": {"create": -1}}, "mix"),
        ({"mix": {"create": float("nan")}}, "mix"),
        ({"sync_every": 0.5}, "sync_every"),
        ({"think_s": -0.1}, "think_s"),
        ({"offline_replicas": 4, "replicas": 3}, "offline_replicas"),
        ({"offline_s": 0}, "offline_s"),
        ({"offline_s": True}, "offline_s"),
        ({"subscriber_outage_s": float("nan")}, "subscriber_outage_s"),
        ({"subscriber_outage_s": -1}, "subscriber_outage_s"),
        ({"strategy": "manual"}, "strategy"),
        ({"strategy": "coin_flip"}, "strategy"),
        ({"converge_timeout_s": 0}, "converge_timeout_s"),
        ({"delivery_timeout_s": -1}, "delivery_timeout_s"),
        ({"seed": "1"}, "seed"),
        ({"seeded_bug": "gremlins"}, "seeded_bug"),
        ({"schedule": [{"at": 0, "for": 1, "fault": "offline", "target": "replica-7"}]},
         "schedule"),
        ({"schedule": [{"at": 0, "for": 1, "fault": "offline", "target": "replica-0",
                        "phase": "mobile-3g"}]}, "schedule"),
        ({"schedule": [{"at": 0, "for": 0, "fault": "offline", "target": "replica-0"}]},
         "schedule"),
        ({"workload": "chaos"}, "workload"),
        ({"generated_operations": 0}, "generated_operations"),
        ({"http_clients": -1}, "http_clients"),
        ({"cli_replicas": -1}, "cli_replicas"),
        ({"operations": [{"step": 0, "client": "k1", "op": "cli_list"}]}, "operations"),
        ({"cli_replicas": 0, "operations": [{"step": 0, "client": "k0", "op": "cli_list"}]},
         "operations"),
        ({"weights": {"teleport": 1.0}}, "weights"),
        ({"weights": {"create": -1.0}}, "weights"),
        ({"operations": [{"client": "c0", "op": "create"}]}, "operations"),
        ({"operations": [{"step": 0, "client": "c9", "op": "get"}]}, "operations"),
        ({"operations": [{"step": 0, "client": "x0", "op": "get"}]}, "operations"),
    ],
)
def test_a_bad_parameter_is_refused_naming_it(overrides: dict, parameter: str) -> None:
    with pytest.raises(StudyParamError, match=rf"^parameter {parameter!r}: ") as caught:
        SyncParams(**overrides)
    assert caught.value.name == parameter


def test_an_unknown_parameter_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(StudyParamError, match="offline_steps.*valid: .*offline_s"):
        SyncParams.from_mapping({"offline_steps": 4}, "params/old.yaml")


def test_a_schedule_on_the_study_groups_is_accepted() -> None:
    schedule = [{"at": 0.5, "for": 1.0, "fault": "offline", "target": "subscriber-1",
                 "phase": "wan"},
                {"at": 0.0, "for": 2.0, "fault": "storage", "target": "server",
                 "error_rate": 0.2}]
    assert SyncParams(schedule=schedule).schedule == schedule  # type: ignore[arg-type]
