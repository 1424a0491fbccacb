"""A stack on Qdrant: which Qdrant it runs is said plainly, and the server serves through it."""

from __future__ import annotations

import pytest

from syncbench.qdrant import start_qdrant
from syncbench.stack import Stack, StackConfig, StackError
from tasksync.store.opening import QDRANT_PREFIX_ENV, QDRANT_URL_ENV


async def test_a_stack_on_qdrant_serves_and_says_which_qdrant(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(QDRANT_URL_ENV, raising=False)
    async with Stack(StackConfig(store="qdrant")) as stack:
        description = stack.store_description()
        client = stack.http_client()
        created = await client.create_task("on-qdrant", "kept")
        tasks = await stack.server_tasks("on-qdrant")
        log = await stack.change_log("on-qdrant")
        folders = list(stack.workdir.glob("*.qdrant"))
    assert description.startswith("qdrant local mode") or description.startswith("qdrant server")
    if description.startswith("qdrant local mode"):
        assert "no Qdrant server:" in description and folders  # in the server's folder
    assert tasks[created.id]["content"] == "kept"
    assert [event["seq"] for event in log] == [1]


def test_qdrant_url_wins_and_gets_a_prefix_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(QDRANT_URL_ENV, "http://127.0.0.1:6333")
    run, other = start_qdrant(), start_qdrant()
    assert run.source == "QDRANT_URL"
    assert run.env[QDRANT_URL_ENV] == "http://127.0.0.1:6333"
    assert run.env[QDRANT_PREFIX_ENV].startswith("syncbench_")
    assert run.env[QDRANT_PREFIX_ENV] != other.env[QDRANT_PREFIX_ENV]
    assert run.description == "qdrant server at http://127.0.0.1:6333 (QDRANT_URL)"


def test_qdrant_serves_one_server_process() -> None:
    with pytest.raises(StackError, match="store='postgresql'"):
        StackConfig(store="qdrant", replicas=2)
