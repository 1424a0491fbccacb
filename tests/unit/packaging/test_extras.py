"""The install extras hold: tasksync runs without the workbench, its clients without the server.

Each check imports modules in a fresh interpreter that refuses to import the packages the
install would lack, so a stray import (plotly in the server, starlette in the client) fails.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
WORKBENCH_ONLY = ("syncbench", "pandas", "plotly", "kaleido", "papermill", "nbformat",
                  "nbconvert", "nbclient", "IPython", "ipykernel", "jupyterlab", "jupyter_client",
                  "yaml", "toxiproxy", "psutil", "testcontainers")
# numpy comes with the server too: qdrant-client (its Qdrant store) requires it
SERVER_ONLY = ("starlette", "uvicorn", "prometheus_client", "numpy")

_BLOCKER = """
import importlib, importlib.abc, pkgutil, sys
blocked = set(sys.argv[1].split(","))
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} is not installed with these extras")
        return None
sys.meta_path.insert(0, Refuse())
for name in sys.argv[2].split(","):
    module = importlib.import_module(name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + "."):
        importlib.import_module(info.name)
print("imported")
"""


def import_without(blocked: tuple[str, ...],
                   modules: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    """Import `modules` and every module under them with `blocked` packages refused."""
    return subprocess.run(
        [sys.executable, "-c", _BLOCKER, ",".join(blocked), ",".join(modules)],
        cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_tasksync_imports_nothing_of_the_workbench() -> None:
    result = import_without(WORKBENCH_ONLY, ("tasksync",))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", ["tasksync.client", "tasksync.replica", "tasksync.models",
                                    "tasksync.cli"])
def test_clients_and_replica_import_without_the_server(module: str) -> None:
    result = import_without(WORKBENCH_ONLY + SERVER_ONLY, (module,))
    assert result.returncode == 0, result.stderr


def test_the_blocker_does_refuse() -> None:
    result = import_without(SERVER_ONLY, ("tasksync.server",))
    assert result.returncode != 0 and "is not installed with these extras" in result.stderr


def test_extras_name_what_each_layer_needs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    extras = project["optional-dependencies"]
    for package in ("plotly", "pandas", "papermill", "jupyterlab", "starlette", "uvicorn"):
        assert package not in base, f"{package} is a base dependency"
    assert any(dep.startswith("starlette") for dep in extras["server"])
    assert "syncbench[server]" in extras["workbench"]
    assert "syncbench[workbench]" in extras["dev"]
