"""Which bugs the zoo runs and, for each, which studies: checked before anything runs."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from syncbench.params import ParameterError
from tasksync.bugs import BUGS, SeededBug

EXPECTED = "expected"  # --studies expected: each bug against the studies meant to catch it


@dataclass(frozen=True)
class ZooSelection:
    """The bugs to run (registry order), the studies for each, and the sample's seed."""

    bugs: tuple[SeededBug, ...]
    studies: dict[str, tuple[str, ...]]  # bug name -> studies, in run order
    sample_seed: int | None = None

    @property
    def baseline_studies(self) -> tuple[str, ...]:
        """Every study some bug runs against: each must pass without a bug."""
        return tuple(dict.fromkeys(study for bug in self.bugs for study in self.studies[bug.name]))

    @property
    def cells(self) -> int:
        """How many study runs the bugs take (the baseline not counted)."""
        return sum(len(self.studies[bug.name]) for bug in self.bugs)


def split_names(text: str | None) -> tuple[str, ...]:
    """`a,b, c` as ("a", "b", "c"); None or "" as ()."""
    return tuple(name.strip() for name in (text or "").split(",") if name.strip())


def select(
    available_studies: Sequence[str],
    bugs: Sequence[str] = (),
    studies: Sequence[str] = (),
    sample: int | None = None,
    seed: int | None = None,
    registry: Mapping[str, SeededBug] = BUGS,
) -> ZooSelection:
    """The zoo's selection; ParameterError (one line, what to do) for an unknown bug or study,
    a bad sample size, or `expected` mixed with study names.

    `bugs` empty means every bug; `studies` empty means every available study, ("expected",)
    each bug's own `studies`; `sample` picks that many of the bugs with `random.Random(seed)`
    (a seed is drawn when none is given; `sample_seed` says which).
    """
    for name in bugs:
        if name not in registry:
            raise ParameterError(
                f"unknown bug {name!r}; `syncbench zoo --list` shows the {len(registry)} bugs: "
                f"{', '.join(registry)}")
    pool = [bug for name, bug in registry.items() if not bugs or name in bugs]
    if sample is not None:
        if not 1 <= sample <= len(pool):
            raise ParameterError(f"--sample {sample}: choose between 1 and {len(pool)} "
                                 f"(the bugs there are to sample from)")
        if seed is None:  # a fresh sample; the seed is reported, so it can be run again
            seed = random.SystemRandom().randrange(1_000_000)
        chosen = set(random.Random(seed).sample([bug.name for bug in pool], sample))
        pool = [bug for bug in pool if bug.name in chosen]
    per_bug = {bug.name: _studies_for(bug, studies, available_studies) for bug in pool}
    return ZooSelection(bugs=tuple(pool), studies=per_bug,
                        sample_seed=seed if sample is not None else None)


def _studies_for(bug: SeededBug, studies: Sequence[str],
                 available: Sequence[str]) -> tuple[str, ...]:
    if EXPECTED in studies and len(studies) > 1:
        raise ParameterError(f"--studies {','.join(studies)}: '{EXPECTED}' stands alone; give "
                             f"either '{EXPECTED}' or study names")
    wanted = (bug.studies if tuple(studies) == (EXPECTED,) else tuple(studies)) or tuple(available)
    for study in wanted:
        if study not in available:
            whose = f" (bug {bug.name!r} expects it)" if tuple(studies) == (EXPECTED,) else ""
            raise ParameterError(
                f"unknown study {study!r}{whose}; studies: {', '.join(available)}, "
                f"or '{EXPECTED}' for each bug's own")
    return tuple(dict.fromkeys(wanted))
