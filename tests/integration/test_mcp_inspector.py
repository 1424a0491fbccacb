"""tasksync driven by a client we did not write: the MCP Inspector's command line (npm
@modelcontextprotocol/inspector, pinned and installed under .tools/ by `make setup`), over
stdio (`tasksync mcp`) and streamable HTTP (/mcp)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import ServerThread

ROOT = Path(__file__).resolve().parents[2]
INSPECTOR = ROOT / ".tools" / "node_modules" / ".bin" / "mcp-inspector"
TASKSYNC = str(Path(sys.executable).with_name("tasksync"))

if not INSPECTOR.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{INSPECTOR} is missing: `make setup` installs it (make inspector)")
    pytest.skip("the MCP Inspector CLI is not installed: run `make inspector`",
                allow_module_level=True)


def inspector(tmp_path: Path, *target: str, method: str, tool: str | None = None,
              **arguments: object) -> dict:
    """One Inspector CLI run; its JSON answer (it exits non-zero on a protocol failure)."""
    command = [str(INSPECTOR), "--cli", *target, "--method", method]
    if tool is not None:
        command += ["--tool-name", tool]
    if arguments:
        command += ["--tool-arg", *(f"{name}={value}" for name, value in arguments.items())]
    finished = subprocess.run(
        command, capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "MCP_CATALOG_PATH": str(tmp_path / "inspector-catalog.json")})
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


def test_inspector_lists_tools_and_creates_and_lists_over_stdio(tmp_path: Path) -> None:
    target = (TASKSYNC, "mcp", "--db", str(tmp_path / "desk.db"))
    tools = inspector(tmp_path, *target, method="tools/list")["tools"]
    assert {tool["name"] for tool in tools} >= {"create_task", "list_tasks", "update_task",
                                                "delete_task", "sync_batch", "read_changes"}
    created = inspector(tmp_path, *target, method="tools/call", tool="create_task",
                        repository="inspected", content="from the inspector")
    assert created["isError"] is False
    listed = inspector(tmp_path, *target, method="tools/call", tool="list_tasks",
                       repository="inspected", limit=1)
    assert [task["id"] for task in listed["structuredContent"]["tasks"]] == [
        created["structuredContent"]["id"]]


def test_inspector_creates_and_lists_over_streamable_http(tmp_path: Path,
                                                          server: ServerThread) -> None:
    target = (f"{server.base_url}/mcp", "--transport", "http")
    names = {tool["name"] for tool in inspector(tmp_path, *target, method="tools/list")["tools"]}
    assert "create_task" in names
    for n in range(2):
        created = inspector(tmp_path, *target, method="tools/call", tool="create_task",
                            repository="over-http", content=f"task {n}", priority="high")
        assert created["structuredContent"]["priority"] == "high"
    listed = inspector(tmp_path, *target, method="tools/call", tool="list_tasks",
                       repository="over-http")
    assert [task["content"] for task in listed["structuredContent"]["tasks"]] == [
        "task 0", "task 1"]
