"""Named network conditions (params/profiles.yaml) and the one function that puts them on a proxy."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from syncbench.toxiproxy import (
    STREAMS,
    TOXIC_ATTRIBUTES,
    InvalidToxicSpec,
    ProxyHandle,
    ToxicNotFound,
    ToxicSpec,
    ToxiproxyControl,
)

DEFAULT_PROFILES_PATH = Path(__file__).resolve().parents[2] / "params" / "profiles.yaml"

_NAME = re.compile(r"[A-Za-z0-9._-]+")
_TOXIC_FIELDS = ("type", "stream", "toxicity", "attributes")
_PROFILE_FIELDS = ("description", "toxics", "outage")


class ProfileError(ValueError):
    """A profile is unknown or malformed; the message names the profile and the field."""

    def __init__(self, profile: str, field: str, reason: str, source: str = "") -> None:
        where = f"{source}: " if source else ""
        super().__init__(f"{where}profile {profile!r}, field {field}: {reason}")
        self.profile = profile
        self.field = field
        self.reason = reason


class UnknownProfile(ProfileError):
    """No profile has that name."""

    def __init__(self, profile: str, known: Mapping[str, object], source: str = "") -> None:
        super().__init__(profile, "name", "no such profile; known profiles are "
                         f"{', '.join(sorted(known)) or 'none'}", source)


@dataclass(frozen=True)
class NetworkProfile:
    """A named network condition: toxics to add, or an outage (the proxy disabled)."""

    name: str
    toxics: tuple[ToxicSpec, ...] = ()
    outage: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        # The name ends up in toxic names, which toxiproxy-python puts in URLs unescaped.
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ProfileError(str(self.name), "name", "use only letters, digits, '.', '_' "
                               "and '-'")
        if self.outage and self.toxics:
            raise ProfileError(self.name, "outage", "an outage disables the proxy, so it "
                               "cannot also have toxics; make them two profiles")


def parse_toxic(raw: object) -> ToxicSpec:
    """A ToxicSpec from a YAML mapping; InvalidToxicSpec names the field at fault."""
    if not isinstance(raw, Mapping):
        raise InvalidToxicSpec("toxic", f"expected a mapping with {', '.join(_TOXIC_FIELDS)}, "
                               f"got {raw!r}")
    for key in raw:
        if key not in _TOXIC_FIELDS:
            raise InvalidToxicSpec(str(key), f"unknown field; a toxic has {', '.join(_TOXIC_FIELDS)}")
    if "type" not in raw:
        raise InvalidToxicSpec("type", f"missing; choose one of {', '.join(TOXIC_ATTRIBUTES)}")
    attributes = raw.get("attributes")
    return ToxicSpec(type=raw["type"], stream=raw.get("stream", STREAMS[1]),
                     toxicity=raw.get("toxicity", 1.0),
                     attributes={} if attributes is None else attributes)


def parse_profile(name: str, raw: object, source: str = "") -> NetworkProfile:
    """A NetworkProfile from its YAML mapping; ProfileError names the profile and field."""
    if not isinstance(raw, Mapping):
        raise ProfileError(name, "profile", f"expected a mapping with {', '.join(_PROFILE_FIELDS)}",
                           source)
    for key in raw:
        if key not in _PROFILE_FIELDS:
            raise ProfileError(name, str(key),
                               f"unknown field; a profile has {', '.join(_PROFILE_FIELDS)}", source)
    outage = raw.get("outage", False)
    if not isinstance(outage, bool):
        raise ProfileError(name, "outage", f"{outage!r} is not true or false", source)
    raw_toxics = raw.get("toxics", [])
    if not isinstance(raw_toxics, list):
        raise ProfileError(name, "toxics", "expected a list of toxics", source)
    if not outage and "toxics" not in raw:
        raise ProfileError(name, "toxics", "missing; give a list of toxics (`toxics: []` for "
                           "no fault) or `outage: true`", source)
    toxics = []
    for index, raw_toxic in enumerate(raw_toxics):
        try:
            toxics.append(parse_toxic(raw_toxic))
        except InvalidToxicSpec as exc:
            raise ProfileError(name, f"toxics[{index}].{exc.field}", exc.reason, source) from None
    try:
        return NetworkProfile(name=name, toxics=tuple(toxics), outage=outage,
                              description=str(raw.get("description", "")).strip())
    except ProfileError as exc:
        raise ProfileError(name, exc.field, exc.reason, source) from None


def load_profiles(path: Path | str = DEFAULT_PROFILES_PATH) -> dict[str, NetworkProfile]:
    """Every profile in a profiles file, checked; the first problem raises ProfileError."""
    path = Path(path)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ProfileError("*", "file", f"cannot read it as UTF-8 YAML "
                           f"({' '.join(str(exc).split())})", str(path)) from None
    if not isinstance(data, Mapping) or not isinstance(data.get("profiles"), Mapping):
        raise ProfileError("*", "profiles", "the file must have a top-level `profiles:` mapping "
                           "of name to profile", str(path))
    return {str(name): parse_profile(str(name), raw, str(path))
            for name, raw in data["profiles"].items()}


def get_profile(name: str, profiles: Mapping[str, NetworkProfile] | None = None) -> NetworkProfile:
    """The named profile from `profiles` (default: params/profiles.yaml), or UnknownProfile."""
    source = "" if profiles is not None else str(DEFAULT_PROFILES_PATH)
    profiles = load_profiles() if profiles is None else profiles
    if name not in profiles:
        raise UnknownProfile(name, profiles, source)
    return profiles[name]


@dataclass(frozen=True)
class AppliedProfile:
    """What `apply_profile` put on a proxy, so `remove_profile` can take exactly that off."""

    proxy: ProxyHandle
    profile: NetworkProfile
    toxic_names: tuple[str, ...]


def apply_profile(control: ToxiproxyControl, proxy: ProxyHandle,
                  profile: NetworkProfile) -> AppliedProfile:
    """Put the profile on the proxy: add its toxics, or disable the proxy for an outage."""
    if profile.outage:
        control.disable(proxy)
        return AppliedProfile(proxy, profile, ())
    names: list[str] = []
    try:
        for index, spec in enumerate(profile.toxics):
            # Profile and position in the name: two latency toxics on one stream stay distinct,
            # and a toxic on the server says which profile put it there.
            named = dataclasses.replace(
                spec, name=f"{profile.name}.{index}.{spec.type}_{spec.stream}")
            names.append(control.add_toxic(proxy, named))
    except BaseException:
        # Half a profile is a condition nobody asked for: take back what was added.
        remove_profile(control, AppliedProfile(proxy, profile, tuple(names)))
        raise
    return AppliedProfile(proxy, profile, tuple(names))


def remove_profile(control: ToxiproxyControl, applied: AppliedProfile) -> None:
    """Take an applied profile off its proxy; toxics already gone (a reset) are fine."""
    if applied.profile.outage:
        control.enable(applied.proxy)
        return
    for name in applied.toxic_names:
        with contextlib.suppress(ToxicNotFound):
            control.remove_toxic(applied.proxy, name)


__all__ = [
    "DEFAULT_PROFILES_PATH", "AppliedProfile", "NetworkProfile", "ProfileError",
    "UnknownProfile", "apply_profile", "get_profile", "load_profiles", "parse_profile",
    "parse_toxic", "remove_profile",
]
