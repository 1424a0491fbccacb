"""ResilienceParams: defaults, strict types, rules across fields, the server's flags."""

from __future__ import annotations

import pytest

from syncbench.studies.resilience import STUDY, ResilienceParams
from syncbench.study import StudyParamError


def test_default_parameters_are_valid_and_know_every_default_fault() -> None:
    params = ResilienceParams()
    assert set(params.faults) <= set(params.profiles())
    assert "cut-responses" in params.profiles()


def test_every_parameter_has_help_and_the_study_is_registered() -> None:
    assert all(info.help for info in ResilienceParams.fields_info().values())
    assert STUDY.params is ResilienceParams and STUDY.notebook == "resilience.ipynb"


BAD = [
    ("faults", ("no-such-profile",), "profile names"),
    ("faults", ("wan", "wan"), "each fault once"),
    ("clients", 0, ">= 1"),
    ("clients", 1.5, "integer"),
    ("clients", True, "integer"),
    ("fault_seconds", 0, "> 0"),
    ("recover_seconds", -1, ">= 0"),
    ("request_timeout", float("nan"), "finite number"),
    ("storage_error_rate", 1.5, "between 0 and 1"),
    ("update_share", -0.1, "between 0 and 1"),
    ("breaker_threshold", 50, "at most breaker_window"),
    ("recovery_grace_seconds", 5.0, "shorter than recover_seconds"),
    ("seeded_bug", "no_such_bug", "one of"),
    ("seed", "one", "integer"),
    ("rate_limit", 0, "> 0"),
    ("protection_phase", "yes", "true or false"),
    ("custom_profiles", {"bad": {"toxics": [{"type": "nonsense"}]}}, "bad"),
    ("schedule", [{"at": 0, "for": 1, "target": "clients"}], "profile"),
    ("schedule", [{"at": 0, "for": 1, "target": "phones", "profile": "wan"}], "'clients'"),
    ("schedule", [{"at": 0, "for": 1, "target": "clients", "fault": "storage",
                   "error_rate": 1.0}], "'server'"),
]


@pytest.mark.parametrize(("field", "value", "accepted"), BAD)
def test_a_bad_parameter_is_refused_naming_it_the_value_and_what_is_accepted(
        field: str, value: object, accepted: str) -> None:
    with pytest.raises(StudyParamError) as caught:
        ResilienceParams(**{field: value})
    assert caught.value.name == field
    assert f"parameter {field!r}" in str(caught.value)
    assert accepted in str(caught.value)


def test_from_mapping_refuses_an_unknown_parameter_naming_the_valid_ones() -> None:
    with pytest.raises(StudyParamError, match="no such parameter; valid: seed"):
        ResilienceParams.from_mapping({"fault_secs": 1.0})


def test_lists_become_tuples_and_to_dict_gives_plain_data() -> None:
    params = ResilienceParams.from_mapping({"faults": ["wan", "outage"], "clients": 2})
    assert params.faults == ("wan", "outage")
    data = params.to_dict()
    assert data["faults"] == ["wan", "outage"] and data["schedule"] == []
    assert ResilienceParams.from_mapping(data) == params


def test_custom_profiles_add_faults_usable_by_name() -> None:
    params = ResilienceParams(faults=("drop-all",), custom_profiles={
        "drop-all": {"toxics": [{"type": "timeout", "attributes": {"timeout": 0}}]}})
    assert params.profiles()["drop-all"].toxics[0].type == "timeout"


def test_server_options_carry_the_breaker_settings_and_the_seeded_bug() -> None:
    params = ResilienceParams(breaker_threshold=2, seeded_bug="ignore_idempotency")
    options = params.server_options()
    assert options[options.index("--breaker-threshold") + 1] == "2"
    assert options[-2:] == ("--seeded-bug", "ignore_idempotency")
    assert "--seeded-bug" not in ResilienceParams().server_options()
    assert params.rate_server_options()[-2:] == ("--seeded-bug", "ignore_idempotency")


def test_retry_policy_is_the_params_with_a_seed_and_changes() -> None:
    policy = ResilienceParams(max_attempts=4).retry_policy(9, deadline=3.0)
    assert (policy.max_attempts, policy.deadline, policy.seed) == (4, 3.0, 9)
