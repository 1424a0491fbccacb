"""What a Toxiproxy server holds: proxies, and the toxics on them, checked before they are sent.

Toxiproxy ignores attribute names it does not know and accepts any toxicity, so `ToxicSpec`
refuses both on creation (InvalidToxicSpec, naming the part at fault).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from syncbench.toxiproxy.errors import InvalidToxicSpec

#: Attribute names each toxic type accepts, as Toxiproxy's Go structs spell them (v2.12).
#: Units: latency/jitter/delay/timeout in ms, rate in KB/s (1 KB = 1000 bytes),
#: bytes and sizes in bytes, except slicer's delay, which is in microseconds.
TOXIC_ATTRIBUTES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "latency": ("latency", "jitter"),
    "bandwidth": ("rate",),
    "slow_close": ("delay",),
    "timeout": ("timeout",),
    "reset_peer": ("timeout",),
    "slicer": ("average_size", "size_variation", "delay"),
    "limit_data": ("bytes",),
})
STREAMS = ("upstream", "downstream")
# Toxiproxy reads attributes into Go int64s (a larger number is refused when the toxic is
# added, mid-run), and turns milliseconds into a time.Duration in nanoseconds, which wraps
# past 2^63 ns: bound them here so a profile fails when it is loaded, not in a run.
INT64_MAX = 2**63 - 1
MAX_ATTRIBUTE: Mapping[str, int] = MappingProxyType(
    {name: INT64_MAX // 1_000_000 for name in ("latency", "jitter", "timeout", "delay")})


@dataclass(frozen=True)
class ToxicSpec:
    """One toxic as Toxiproxy takes it; checked on creation, since Toxiproxy ignores unknown
    attribute names and accepts any toxicity."""

    type: str
    attributes: Mapping[str, int] = field(default_factory=dict)
    stream: str = "downstream"
    toxicity: float = 1.0
    name: str | None = None

    def __post_init__(self) -> None:
        if self.type not in TOXIC_ATTRIBUTES:
            raise InvalidToxicSpec(
                "type", f"unknown toxic type {self.type!r}; choose one of "
                f"{', '.join(TOXIC_ATTRIBUTES)}")
        if self.stream not in STREAMS:
            raise InvalidToxicSpec(
                "stream", f"{self.stream!r} is not a stream; choose upstream or downstream")
        toxicity = self.toxicity
        if (isinstance(toxicity, bool) or not isinstance(toxicity, int | float)
                or not math.isfinite(toxicity) or not 0 <= toxicity <= 1):
            raise InvalidToxicSpec(
                "toxicity", f"{toxicity!r} is not a probability; give a number from 0 to 1")
        if not isinstance(self.attributes, Mapping):
            raise InvalidToxicSpec("attributes", "give a mapping of attribute name to value")
        allowed = TOXIC_ATTRIBUTES[self.type]
        for key, value in self.attributes.items():
            if key not in allowed:
                raise InvalidToxicSpec(
                    f"attributes.{key}", f"{self.type} has no attribute {key!r}; "
                    f"its attributes are {', '.join(allowed)}")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidToxicSpec(
                    f"attributes.{key}", f"{value!r} is not a non-negative integer")
            largest = MAX_ATTRIBUTE.get(key, INT64_MAX)
            if value > largest:
                raise InvalidToxicSpec(
                    f"attributes.{key}", f"{value} is more than Toxiproxy takes ({largest}: "
                    f"{'milliseconds a Go duration holds' if key in MAX_ATTRIBUTE else 'int64'})")
        # Frozen means frozen: callers' dicts must not change a spec after validation.
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))
        object.__setattr__(self, "toxicity", float(toxicity))

    @property
    def toxic_name(self) -> str:
        """The name the toxic has on the server (Toxiproxy's default when none was given)."""
        return self.name or f"{self.type}_{self.stream}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.toxic_name, "type": self.type, "stream": self.stream,
                "toxicity": self.toxicity, "attributes": dict(self.attributes)}


@dataclass(frozen=True)
class ActiveToxic:
    """A toxic as the server reports it (not validated: the server may hold any toxic)."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class ProxyHandle:
    """A proxy on the server; clients connect to `listen` instead of `upstream`."""

    name: str
    listen: str
    upstream: str
    enabled: bool = True

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) of `listen`, what a client connects to."""
        return self.host, self.port

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


__all__ = ["STREAMS", "TOXIC_ATTRIBUTES", "ActiveToxic", "ProxyHandle", "ToxicSpec"]
