"""A measurement with its unit, named where it is made: `Metric("convergence_s.lan", 0.21, S)`.

Units are a short fixed vocabulary so summaries, charts and comparisons across runs read the
same everywhere; a count or a plain ratio has the empty unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncbench.plain import plain

S, MS, US = "s", "ms", "us"
COUNT, RATIO = "", ""
PER_S = "/s"
BYTES, MIB = "B", "MiB"
PERCENT = "%"
TIMES = "x"  # a ratio to a baseline measured in the same run
UNITS = frozenset({S, MS, US, COUNT, PER_S, BYTES, MIB, PERCENT, TIMES})


@dataclass(frozen=True)
class Metric:
    """One named measurement of a run, with its unit ("ms", "s", "" for a count or ratio)."""

    name: str
    value: Any
    unit: str = ""

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"metric {self.name!r}: unknown unit {self.unit!r}; "
                             f"use one of {sorted(UNITS)}")
        object.__setattr__(self, "value", plain(self.value))

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit}


class Metrics(dict[str, Metric]):
    """A study's metrics by name; `add` makes one with its unit where it is measured."""

    def add(self, name: str, value: Any, unit: str = COUNT) -> Metric:
        metric = Metric(name, value, unit)
        self[name] = metric
        return metric

    def value(self, name: str) -> Any:
        """The value of metric `name`; KeyError naming the metrics there are."""
        if name not in self:
            raise KeyError(f"no metric {name!r}; metrics: {sorted(self)}")
        return self[name].value


__all__ = ["BYTES", "COUNT", "MIB", "MS", "PERCENT", "PER_S", "RATIO", "S", "TIMES", "UNITS", "US",
           "Metric", "Metrics"]
