"""The cause of a failed cell, named even when the kernel left no error output (the crash
study's fault schedule failed so in CI: "CellExecutionError:  (in cell [4])" everywhere)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import nbformat

from syncbench.runner.execute import failure_cause

# what the kernel wrote to stderr in that CI run, shortened
STDERR = """  + Exception Group Traceback (most recent call last):
  |   File "/work/lib/syncbench/nemesis/nemesis.py", line 173, in play
  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)
  +-+---------------- 1 ----------------
    | syncbench.server_process.ServerStartFailed: tasksync server did not answer
    +------------------------------------

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/tmp/ipykernel_6808/3865057028.py", line 2, in <module>
    result = await crash.STUDY.run(params)
  File "/work/lib/syncbench/server_process.py", line 92, in _check_alive_before
    raise ServerStartFailed(
syncbench.server_process.ServerStartFailed: tasksync server did not answer /health within 30.0s; its log ends:
  File "/work/lib/tasksync/server/service.py", line 94, in apply
OSError: [Errno 22] Invalid argument
tasksync listening on http://127.0.0.1:34125
"""


def notebook_with_failed_cell(path: Path, stderr: str) -> Path:
    cell = nbformat.v4.new_code_cell("result = await crash.STUDY.run(params)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=stderr)]
    cell.metadata["papermill"] = {"status": "failed"}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), cell])
    nbformat.write(nb, path)
    return path


def test_a_traceback_printed_to_stderr_names_the_outermost_exception(tmp_path: Path) -> None:
    output = notebook_with_failed_cell(tmp_path / "crash.ipynb", STDERR)
    error = SimpleNamespace(ename="CellExecutionError", evalue="", traceback=[])
    assert failure_cause(error, output) == (
        "CellExecutionError: syncbench.server_process.ServerStartFailed: tasksync server did "
        "not answer /health within 30.0s; its log ends:")


def test_without_a_traceback_the_last_stderr_line_is_the_clue(tmp_path: Path) -> None:
    output = notebook_with_failed_cell(tmp_path / "n.ipynb", "retrying\nproxy gone: run make "
                                                             "toxiproxy\n")
    error = SimpleNamespace(ename="TimeoutError", evalue="", traceback=[])
    assert failure_cause(error, output) == ("TimeoutError (no message); the cell last wrote: "
                                            "proxy gone: run make toxiproxy")
    silent = notebook_with_failed_cell(tmp_path / "s.ipynb", "")
    assert failure_cause(error, silent) == "TimeoutError (no message, nothing written to stderr)"
