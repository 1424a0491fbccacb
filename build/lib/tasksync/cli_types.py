"""Command-line value types shared by `tasksync` and `tasksync serve`."""

from __future__ import annotations

import math
from typing import Any

import click


class FiniteFloat(click.FloatRange):
    """A FloatRange that refuses NaN and infinities: NaN compares false with every bound, so
    FloatRange alone lets `--storage-timeout nan` through (and every request then fails)."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number; give seconds or a count such as "
                      f"{self._example()}", param, ctx)
        return super().convert(number, param, ctx)

    def _example(self) -> str:
        low = self.min if self.min is not None else 0.0
        return f"{max(low, 1.0):g}"


__all__ = ["FiniteFloat"]
