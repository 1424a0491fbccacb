"""Every gate probe against a real server gets the answer PROTOCOL.md documents, and a
refused write leaves nothing behind; an answer that differs is named. WebSocket probes get
an error frame and the connection keeps answering."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from syncbench.explore.feed import Feed
from syncbench.explore.gates import GATE_PROBES, WS_PROBES, send_probe, ws_answer
from syncbench.explore.records import Recorder
from tests.support.servers import ServerThread

LIMIT = 262_144


@pytest.mark.parametrize("name", sorted(GATE_PROBES))
async def test_each_probe_gets_its_documented_answer_and_writes_nothing(
        start_server: Callable[..., ServerThread], name: str) -> None:
    server = start_server(max_body_bytes=LIMIT)
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        answer = await send_probe(http, name, client="c0", repository="r", key="c0.5",
                                  max_body_bytes=LIMIT)
        assert answer["as_documented"], answer["why"]
        assert answer["status"] == GATE_PROBES[name].status
        listed = (await http.get("/api/v1/tasks", params={"repository": "r",
                                                          "include_deleted": "true"},
                                 headers={"X-Client-ID": "t", "X-Client-Version": "1.0.0"}))
        assert listed.json()["tasks"] == []
        log = await http.get("/api/v1/repositories/r/changes",
                             headers={"X-Client-ID": "t", "X-Client-Version": "1.0.0"})
        assert log.json()["events"] == []


async def test_an_answer_other_than_the_documented_one_says_how_it_differs(
        start_server: Callable[..., ServerThread]) -> None:
    # told the limit is far above the server's, the probe's body fits: it is created
    server = start_server(max_body_bytes=LIMIT)
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        answer = await send_probe(http, "body_too_large", client="c0", repository="r",
                                  key="c0.6", max_body_bytes=1000)
    assert not answer["as_documented"]
    assert answer["why"] == "status 201, documented 413"


@pytest.mark.parametrize("name", sorted(WS_PROBES))
async def test_each_websocket_probe_gets_an_error_frame_and_the_connection_stays(
        server: ServerThread, name: str) -> None:
    feed = Feed("s0", server.ws_url, Recorder("lan"), answer_timeout=5.0)
    try:
        await feed.open({"r": 0}, "subscribe", None)
        error, still_open = await feed.probe(WS_PROBES[name][1])
    finally:
        await feed.close()
    answer = ws_answer(name, error.error, still_open)
    assert answer["as_documented"], answer["why"]
    assert ws_answer(name, "something_else", True)["why"].startswith("error 'something_else'")
    assert ws_answer(name, error.error, False)["why"] == \
        "the connection did not answer a ping after it"
