"""Where a run writes: a directory no other run writes into, named by a run id no other run
has. The default directory is claimed by creating it (a second run started in the same
second gets `<id>-2`); an `--out` directory is held with a lock for as long as the run goes,
so two runs never write into one directory at once.

    with claim_run_dir(options.out_dir, Path("outputs"), git) as (run_id, out_dir):
        ...  # write the run's artifacts
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from syncbench.params import ParameterError
from syncbench.runner.summary import GitInfo, new_run_id

LOCK_NAME = ".syncbench-run.lock"
MAX_SAME_SECOND = 1000


@contextmanager
def claim_run_dir(out_dir: Path | None, outputs_root: Path, git: GitInfo,
                  now: datetime | None = None) -> Iterator[tuple[str, Path]]:
    """(run id, directory) held until the block ends; ParameterError (before anything is
    written) when `out_dir` is a file, cannot be made, or another run is writing into it."""
    base = new_run_id(git, now)
    if out_dir is None:
        run_id, out_dir = _new_directory(outputs_root, base)
    else:
        _make(out_dir)
        # the same second, another --out: the folder tells the two runs apart
        run_id = f"{base}-{hashlib.sha1(str(out_dir.resolve()).encode()).hexdigest()[:6]}"
    with _held(out_dir):
        yield run_id, out_dir


def _new_directory(root: Path, base: str) -> tuple[str, Path]:
    _make(root, what="the outputs folder")
    for number in range(1, MAX_SAME_SECOND + 1):
        run_id = base if number == 1 else f"{base}-{number}"
        try:
            (root / run_id).mkdir()
        except FileExistsError:
            continue  # a run started in the same second has it
        except OSError as exc:
            raise ParameterError(f"cannot make {root / run_id}: {exc.strerror or exc}; "
                                 "give --out a folder you can write") from None
        return run_id, root / run_id
    raise ParameterError(f"{MAX_SAME_SECOND} runs started in one second under {root}; "
                         "give --out")


def _make(folder: Path, what: str = "--out") -> None:
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"{what} {folder} is a file, not a folder; give a folder "
                             "(it is made when missing)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"{what} {folder}: cannot make the folder "
                             f"({exc.strerror or exc}); give a folder you can write") from None


@contextmanager
def _held(folder: Path) -> Iterator[None]:
    path = folder / LOCK_NAME
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ParameterError(f"--out {folder}: cannot write into it ({exc.strerror or exc}); "
                             "give a folder you can write") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 200, 0).decode(errors="replace").strip()
            raise ParameterError(f"--out {folder}: another run ({holder or 'unknown'}) is "
                                 "writing into it; give another --out or wait for it to "
                                 "end") from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"pid {os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)  # unlocked by the close below
    finally:
        os.close(descriptor)


__all__ = ["LOCK_NAME", "claim_run_dir"]
