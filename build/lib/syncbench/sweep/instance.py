"""One sweep instance: `syncbench run STUDY` in a process group of its own, in a temporary
folder of its own, bounded by a timeout; what came out, with the run's artifacts packed
when it did not pass (a passing run is summarised: its study summary only).

It is a plain function of plain data, so a Ray task runs it on any node, and a test runs it
without Ray. Every port is picked by the kernel (servers and Toxiproxy listen on port 0),
so instances side by side never meet.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from syncbench.runner.outcome import ERROR, PASS

TIMEOUT = "timeout"  # a run stopped at its --instance-timeout: no verdict
STOP_GRACE_S = 20.0  # after SIGTERM, `syncbench run` writes what ran (its interrupt path)
LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class InstanceJob:
    """Everything an instance needs, as plain data (sent to a Ray worker)."""

    index: int  # the instance's place in the sweep
    study: str
    seed: int
    parameters: dict[str, Any]
    notebooks_dir: str  # absolute: a worker's working directory is not the driver's
    timeout_s: float | None  # the whole run; None: no limit
    cell_timeout_s: float | None = None  # `syncbench run --timeout`


@dataclass
class InstanceOutcome:
    seed: int
    status: str  # the study's: pass, fail, unknown, error, interrupted; or timeout
    exit_code: int | None
    duration_s: float
    summary: dict[str, Any] | None  # <study>.summary.json, when the run wrote one
    reason: str = ""
    log_tail: str = ""
    artifacts: bytes | None = field(default=None, repr=False)  # a zip of the run's folder
    node: str = ""


def run_instance(job: InstanceJob) -> InstanceOutcome:
    """Run `job` to its end or its timeout (then SIGTERM, SIGKILL after STOP_GRACE_S); a
    KeyboardInterrupt (Ray's cancel) stops the run the same way, then goes on up."""
    work = Path(tempfile.mkdtemp(prefix=f"syncbench-sweep-{job.study}-{job.seed}-"))
    try:
        return _run(job, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(job: InstanceJob, work: Path) -> InstanceOutcome:
    params = work / "params.yaml"
    params.write_text(yaml.safe_dump({"studies": {job.study: job.parameters}}))
    out = work / "out"
    log_path = work / "run.log"
    command = [sys.executable, "-m", "syncbench.cli", "run", job.study, "--params", str(params),
               "--out", str(out), "--notebooks", job.notebooks_dir, "--no-progress",
               "--no-coverage", "--timeout", str(job.cell_timeout_s or 0)]
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   cwd=work)
    timed_out = False
    try:
        process.wait(timeout=job.timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _stop(process)
    except BaseException:
        _stop(process)  # cancelled: nothing of it stays behind
        raise
    duration = time.monotonic() - started
    summary = _read_json(out / f"{job.study}.summary.json")
    status = TIMEOUT if timed_out else str((summary or {}).get("status") or ERROR)
    log_tail = _tail(log_path)
    reason = (f"no verdict within {job.timeout_s:g} s (--instance-timeout)" if timed_out
              else str((summary or {}).get("reason") or "") or (
                  "" if summary else _last_line(log_tail)))
    artifacts = None if status == PASS else _packed(out, log_path)
    return InstanceOutcome(seed=job.seed, status=status, exit_code=process.returncode,
                           duration_s=round(duration, 3), summary=summary, reason=reason,
                           log_tail=log_tail if status != PASS else "", artifacts=artifacts,
                           node=os.uname().nodename)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the run's process group (the runner stops its studies and writes what ran),
    SIGKILL what is left after STOP_GRACE_S."""
    for sig, grace in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "the run wrote no summary and no output"


def _packed(out: Path, log_path: Path) -> bytes:
    """The run's whole output folder and its console log, as a zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if out.is_dir():
            for path in sorted(out.rglob("*")):
                if path.is_file() and not path.name.startswith(".syncbench-run"):
                    archive.write(path, path.relative_to(out).as_posix())
        if log_path.is_file():
            archive.write(log_path, "console.log")
    return buffer.getvalue()


__all__ = ["InstanceJob", "InstanceOutcome", "run_instance"]
