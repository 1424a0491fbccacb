"""Run one study notebook with Papermill and say, readably, why it could not finish."""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from syncbench.charts import STATIC_CHARTS_ENV

KERNEL_NAME = "python3"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Execution:
    """How running a notebook went: `reason` is empty when every cell ran."""

    duration_s: float
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


def execute_notebook(
    notebook: Path,
    output_notebook: Path,
    parameters: dict[str, Any],
    timeout: float | None = None,
    kernel_name: str = KERNEL_NAME,
    progress: bool = True,
) -> Execution:
    """Execute `notebook` into `output_notebook` with `parameters` injected.

    Runs in the notebook's own directory (as JupyterLab does) with the kernel `kernel_name`,
    which starts this interpreter (sys.executable). Never raises for a failing study.
    """
    import papermill
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    started = time.monotonic()
    reason = ""
    # the kernel inherits this: its charts carry PNG fallbacks for the exported HTML
    os.environ[STATIC_CHARTS_ENV] = "1"
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output_notebook),
            parameters=parameters,
            kernel_name=kernel_name,
            progress_bar=progress,
            execution_timeout=timeout,
            cwd=str(notebook.parent),
        )
    except PapermillExecutionError as exc:
        reason = f"{failure_cause(exc, output_notebook)} (in cell [{exc.exec_count}])"
    except CellTimeoutError:
        reason = f"timeout: a cell ran longer than {timeout:g} s{_cell_hint(output_notebook)}"
    except DeadKernelError:
        reason = f"dead kernel: the kernel died{_cell_hint(output_notebook)}"
    except NoSuchKernel:
        reason = (
            f"no Jupyter kernel named {kernel_name!r}; install one for {sys.executable} "
            "with `python -m ipykernel install --sys-prefix`"
        )
    except Exception as exc:  # kernel start-up, I/O, nbformat: any of them means "could not run"
        reason = f"{type(exc).__name__}: {_strip(str(exc)) or 'no message'}"
    return Execution(duration_s=time.monotonic() - started, reason=reason)


# "ValueError: bad", "toxiproxy.ToxiproxyError: no", "ExceptionGroup: 2 sub-exceptions"
_EXCEPTION_LINE = re.compile(r"^(?:\| )?([A-Za-z_][\w.]*): (\S.*)$")


def failure_cause(exc: Any, output_notebook: Path | None = None) -> str:
    """The error a failing cell raised, with a message a reader can act on.

    An exception with no message of its own (a bare TimeoutError, a CellExecutionError, an
    ExceptionGroup's wrapper) says nothing: then the innermost message in its traceback (a
    `from` cause, a group's member) is the cause, else the last line the cell wrote to
    stderr, else the exception's name."""
    name, message = str(exc.ename), _strip(str(exc.evalue or ""))
    if message:
        return f"{name}: {message}"
    found = [match for line in getattr(exc, "traceback", None) or []
             for raw in _ANSI.sub("", str(line)).splitlines()
             if (match := _EXCEPTION_LINE.match(raw.strip()))
             and not match.group(1).startswith(("File", "Cell", "Traceback", "Input"))]
    if found:
        inner = found[-1]
        return f"{name} from {inner.group(1)}: {_strip(inner.group(2))}"
    written = _failing_cell_stderr(output_notebook)
    raised = _python_exception_line(written)
    if raised:  # the cell printed a Python traceback itself (an exception group, say)
        return f"{name}: {raised}"
    last = [line.strip() for line in written.splitlines() if line.strip()]
    if last:
        return f"{name} (no message); the cell last wrote: {last[-1][:300]}"
    return f"{name} (no message, nothing written to stderr)"


def _failing_cell_stderr(output_notebook: Path | None) -> str:
    """What the failing cell (an error output, or Papermill's `failed` mark) wrote to
    stderr, ANSI colours removed."""
    if output_notebook is None:
        return ""
    try:
        cells = nbformat.read(output_notebook, as_version=4).cells
    except Exception:  # not written: no more to say
        return ""
    failed = [cell for cell in cells
              if cell.get("metadata", {}).get("papermill", {}).get("status") == "failed"
              or any(output.get("output_type") == "error" for output in cell.get("outputs", []))]
    if not failed:
        return ""
    return "".join(_ANSI.sub("", str(output.get("text", "")))
                   for output in failed[-1].get("outputs", [])
                   if output.get("output_type") == "stream" and output.get("name") == "stderr")


def _python_exception_line(text: str) -> str:
    """The exception a Python-format traceback in `text` ends with: the first unindented
    line after its last frame ("Name: message"), the outermost one of a chain."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent")]
    if not starts:
        return ""
    for line in lines[starts[-1] + 1:]:
        if line and not line[0].isspace():
            return line.strip()[:300] if _EXCEPTION_LINE.match(line.strip()) else ""
    return ""


def _cell_hint(output_notebook: Path) -> str:
    """ " while running cell N: `first line`", from the last cell Papermill started."""
    try:
        nb = nbformat.read(output_notebook, as_version=4)
    except Exception:  # Papermill may not have written it yet
        return ""
    started = [
        (index, cell)
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    if not started:
        return ""
    index, cell = started[-1]
    first_line = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    if len(first_line) > 80:
        first_line = first_line[:77] + "..."
    return f" while running cell {index + 1}: `{first_line}`"


def _strip(text: str) -> str:
    return " ".join(_ANSI.sub("", text).split())
