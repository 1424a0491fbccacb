"""Network faults through Toxiproxy, on one client group's proxy while the others go on.

    network     a profile or one toxic
    offline     cut off: new connections refused, open ones cut (the refused case)
    partition   packets dropped, not refused: `direction: both`, nothing gets through and
                connections hang (the timeout case); `direction: replies`, requests reach the
                server and are applied but the replies are lost (an asymmetric partition:
                writes applied, clients never told)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from syncbench.nemesis.kinds import FaultError, FaultKind, register_fault
from syncbench.profiles import (
    NetworkProfile,
    ProfileError,
    get_profile,
    load_profiles,
    parse_profile,
    parse_toxic,
)
from syncbench.toxiproxy import InvalidToxicSpec, ToxicSpec

if TYPE_CHECKING:
    from syncbench.stack import Stack


def inline_profile(raw: object) -> NetworkProfile:
    """A one-toxic profile from `{type: latency, attributes: {...}}`; FaultError if bad."""
    try:
        spec = parse_toxic(raw)
    except InvalidToxicSpec as exc:
        raise FaultError(f"network fault: toxic.{exc.field}: {exc.reason}") from None
    # One condition per target at a time, so this name is unique on its proxy.
    return NetworkProfile(name=f"toxic-{spec.type}-{spec.stream}", toxics=(spec,),
                          description=f"{spec.type} on {spec.stream}: {dict(spec.attributes)}")


def given_profile(raw: Mapping[str, Any]) -> NetworkProfile:
    """A profile given whole in a window, `{name, toxics, description?, outage?}` (a study's
    own profile, so that a saved schedule replays without the study's params); FaultError
    if bad."""
    fields = {key: value for key, value in raw.items() if key != "name"}
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise FaultError("network fault: a profile given as a mapping needs `name: <text>` "
                         "besides its toxics")
    try:
        return parse_profile(name, fields, "schedule")
    except ProfileError as exc:
        raise FaultError(f"network fault: {exc}") from None


@register_fault
class NetworkFault(FaultKind):
    """`profile: <name>` (params/profiles.yaml), `profile: {name, toxics: [...]}` (a profile
    given whole) or `toxic: {type, attributes, stream}`."""

    name = "network"
    option_names = ("profile", "toxic")

    def options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        options = super().options(raw)
        if ("profile" in options) == ("toxic" in options):
            raise FaultError("network fault: give exactly one of `profile: <name>` or "
                             "`toxic: {type: ..., attributes: {...}}`")
        if "toxic" in options:
            inline_profile(options["toxic"])
        elif isinstance(options["profile"], Mapping):
            given_profile(options["profile"])
        else:
            try:
                get_profile(str(options["profile"]), load_profiles())
            except ProfileError as exc:
                raise FaultError(f"network fault: {exc}") from None
        return options

    def label(self, options: Mapping[str, Any]) -> str:
        if "toxic" in options:
            return inline_profile(options["toxic"]).name
        if isinstance(options["profile"], Mapping):
            return str(options["profile"]["name"])
        return str(options["profile"])

    def _profile(self, stack: Stack, options: Mapping[str, Any]) -> NetworkProfile:
        if "toxic" in options:
            return inline_profile(options["toxic"])
        if isinstance(options["profile"], Mapping):
            return given_profile(options["profile"])
        return stack.profile(str(options["profile"]))

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        return await stack.apply_profile(target, self._profile(stack, options))

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        await stack.remove_profile(target, handle)


@register_fault
class OfflineFault(FaultKind):
    """The group's clients are cut off: new connections refused, open ones cut."""

    name = "offline"

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        await stack.go_offline(target)
        return None

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        await stack.go_online(target)


PARTITION_DIRECTIONS = {"both": ("upstream", "downstream"), "replies": ("downstream",)}


def partition_profile(direction: str) -> NetworkProfile:
    """A `timeout` toxic with timeout 0 on each stream `direction` cuts: Toxiproxy then drops
    the data and keeps the connection open, as a partitioned network does."""
    streams = PARTITION_DIRECTIONS[direction]
    return NetworkProfile(
        name=f"partition-{direction}",
        toxics=tuple(ToxicSpec("timeout", {"timeout": 0}, stream) for stream in streams),
        description=f"partition: {' and '.join(streams)} data dropped")


@register_fault
class PartitionFault(FaultKind):
    """`direction`: both (default; nothing gets through) or replies (requests get through,
    replies are lost)."""

    name = "partition"
    option_names = ("direction",)

    def options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        options = super().options(raw)
        direction = options.get("direction", "both")
        if direction not in PARTITION_DIRECTIONS:
            raise FaultError(f"partition fault: direction {direction!r}; choose one of "
                             f"{', '.join(PARTITION_DIRECTIONS)}")
        return {"direction": direction}

    def label(self, options: Mapping[str, Any]) -> str:
        return ("partitioned" if options.get("direction", "both") == "both"
                else "replies lost")

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        return await stack.apply_profile(target, partition_profile(options["direction"]))

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        await stack.remove_profile(target, handle)


__all__ = ["PARTITION_DIRECTIONS", "NetworkFault", "OfflineFault", "PartitionFault",
           "given_profile", "inline_profile", "partition_profile"]
