"""Network profiles: the shipped file loads, and every kind of mistake is refused at load time
with a message naming the profile and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from syncbench.profiles import (
    DEFAULT_PROFILES_PATH,
    NetworkProfile,
    ProfileError,
    UnknownProfile,
    get_profile,
    load_profiles,
    parse_toxic,
)
from syncbench.toxiproxy import TOXIC_ATTRIBUTES, InvalidToxicSpec, ToxicSpec

REQUIRED = ("lan", "wan", "mobile-3g", "lossy-wifi", "bandwidth-1KBps", "slow-close",
            "reset-storm", "timeout-blackhole", "outage")


def write_profiles(tmp_path: Path, profiles: dict) -> Path:
    path = tmp_path / "profiles.yaml"
    path.write_text(yaml.safe_dump({"profiles": profiles}))
    return path


def one_toxic_profile(**toxic: object) -> dict:
    return {"bad": {"toxics": [{"type": "latency", "attributes": {"latency": 5}} | toxic]}}


def test_shipped_profiles_load_and_include_the_required_ones() -> None:
    profiles = load_profiles(DEFAULT_PROFILES_PATH)
    assert set(REQUIRED) <= set(profiles)
    for name, profile in profiles.items():
        assert isinstance(profile, NetworkProfile)
        assert profile.name == name
        assert profile.description, f"{name} documents its values"
        assert profile.outage or profile.toxics


def test_every_toxic_type_is_used_by_some_shipped_profile() -> None:
    used = {toxic.type for profile in load_profiles().values() for toxic in profile.toxics}
    assert used == set(TOXIC_ATTRIBUTES)


def test_wan_is_40ms_plus_minus_5ms_each_way() -> None:
    wan = get_profile("wan")
    assert [(t.type, t.stream, dict(t.attributes)) for t in wan.toxics] == [
        ("latency", "upstream", {"latency": 40, "jitter": 5}),
        ("latency", "downstream", {"latency": 40, "jitter": 5}),
    ]


def test_outage_profile_disables_instead_of_adding_toxics() -> None:
    outage = get_profile("outage")
    assert outage.outage and outage.toxics == ()


def test_a_good_file_gives_defaults_for_stream_and_toxicity(tmp_path: Path) -> None:
    path = write_profiles(tmp_path, {
        "slow": {"description": "d", "toxics": [{"type": "latency",
                                                  "attributes": {"latency": 10}}]},
        "down": {"outage": True},
        "none": {"toxics": []},
    })
    profiles = load_profiles(path)
    toxic = profiles["slow"].toxics[0]
    assert (toxic.stream, toxic.toxicity, dict(toxic.attributes)) == (
        "downstream", 1.0, {"latency": 10})
    assert profiles["down"].outage
    assert profiles["none"].toxics == () and not profiles["none"].outage


def test_profiles_are_frozen() -> None:
    wan = get_profile("wan")
    with pytest.raises(AttributeError):
        wan.name = "lan"  # type: ignore[misc]
    with pytest.raises(TypeError):
        wan.toxics[0].attributes["latency"] = 1  # type: ignore[index]


def test_unknown_profile_names_it_and_lists_the_known_ones() -> None:
    with pytest.raises(UnknownProfile) as caught:
        get_profile("satellite")
    message = str(caught.value)
    assert "'satellite'" in message and "field name" in message
    assert all(name in message for name in REQUIRED)


def test_unknown_profile_in_a_given_mapping() -> None:
    with pytest.raises(UnknownProfile, match="known profiles are wan"):
        get_profile("lan", {"wan": get_profile("wan")})


@pytest.mark.parametrize(("toxic", "field", "hint"), [
    ({"attributes": {"latency": 5, "delay": 3}}, "toxics[0].attributes.delay",
     "its attributes are latency, jitter"),
    ({"attributes": {"latency": -1}}, "toxics[0].attributes.latency", "non-negative integer"),
    ({"attributes": {"latency": 2.5}}, "toxics[0].attributes.latency", "non-negative integer"),
    ({"attributes": {"latency": True}}, "toxics[0].attributes.latency", "non-negative integer"),
    ({"attributes": {"latency": 10**29}}, "toxics[0].attributes.latency",
     "more than Toxiproxy takes (9223372036854: milliseconds a Go duration holds)"),
    ({"type": "bandwidth", "attributes": {"rate": 2**63}}, "toxics[0].attributes.rate",
     "more than Toxiproxy takes (9223372036854775807: int64)"),
    ({"attributes": [5]}, "toxics[0].attributes", "mapping"),
    ({"stream": "sideways"}, "toxics[0].stream", "upstream or downstream"),
    ({"toxicity": 1.5}, "toxics[0].toxicity", "from 0 to 1"),
    ({"toxicity": -0.1}, "toxics[0].toxicity", "from 0 to 1"),
    ({"toxicity": "half"}, "toxics[0].toxicity", "from 0 to 1"),
    ({"type": "packet_loss"}, "toxics[0].type", "latency, bandwidth, slow_close, timeout"),
    ({"streem": "upstream"}, "toxics[0].streem", "unknown field"),
])
def test_bad_toxic_is_refused_naming_profile_and_field(
        tmp_path: Path, toxic: dict, field: str, hint: str) -> None:
    path = write_profiles(tmp_path, one_toxic_profile(**toxic))
    with pytest.raises(ProfileError) as caught:
        load_profiles(path)
    message = str(caught.value)
    assert "profile 'bad'" in message
    assert f"field {field}:" in message
    assert hint in message
    assert str(path) in message
    assert (caught.value.profile, caught.value.field) == ("bad", field)


def test_toxic_without_type_lists_the_types(tmp_path: Path) -> None:
    path = write_profiles(tmp_path, {"bad": {"toxics": [{"attributes": {"rate": 1}}]}})
    with pytest.raises(ProfileError, match=r"field toxics\[0\]\.type: missing; choose one of "
                       "latency, bandwidth"):
        load_profiles(path)


@pytest.mark.parametrize(("profile", "field", "hint"), [
    ({"toxics": [], "speed": 3}, "speed", "unknown field"),
    ({"description": "no toxics"}, "toxics", "outage: true"),
    ({"toxics": {"type": "latency"}}, "toxics", "list"),
    ({"outage": "yes"}, "outage", "true or false"),
    ({"outage": True, "toxics": [{"type": "latency"}]}, "outage", "cannot also have toxics"),
    (["latency"], "profile", "mapping"),
])
def test_bad_profile_shape_is_refused_naming_profile_and_field(
        tmp_path: Path, profile: object, field: str, hint: str) -> None:
    path = write_profiles(tmp_path, {"bad": profile})
    with pytest.raises(ProfileError) as caught:
        load_profiles(path)
    assert f"profile 'bad', field {field}:" in str(caught.value)
    assert hint in str(caught.value)


def test_profile_name_unsafe_in_a_url_is_refused(tmp_path: Path) -> None:
    path = write_profiles(tmp_path, {"my profile/1": {"toxics": []}})
    with pytest.raises(ProfileError, match="field name: use only letters"):
        load_profiles(path)


def test_file_without_profiles_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text("lan: {toxics: []}\n")
    with pytest.raises(ProfileError, match="top-level `profiles:`"):
        load_profiles(path)


def test_parse_toxic_and_toxic_spec_agree_on_field_names() -> None:
    assert parse_toxic({"type": "slicer", "stream": "upstream", "toxicity": 0.25,
                        "attributes": {"average_size": 10}}) == ToxicSpec(
        "slicer", {"average_size": 10}, stream="upstream", toxicity=0.25)
    with pytest.raises(InvalidToxicSpec) as caught:
        ToxicSpec("bandwidth", {"latency": 1})
    assert caught.value.field == "attributes.latency"
