"""The wire types: WebSocket messages as PROTOCOL.md writes them, and the shared name patterns."""

from __future__ import annotations

import json
import re

import msgspec
import pytest

from tasksync.models import (
    MAX_ID_CHARS,
    MAX_REPOSITORY_CHARS,
    REPOSITORY_PATTERN,
    TASK_ID_PATTERN,
    ChangeEvent,
    ClientMessage,
    ErrorMessage,
    EventMessage,
    Ping,
    Pong,
    RepositoryName,
    ResyncRequired,
    ServerMessage,
    Subscribe,
    Subscribed,
    SyncRequest,
    TaskId,
    Unsubscribe,
    Unsubscribed,
)
from tasksync.models import Task as WireTask

EVENT = ChangeEvent(
    repository="repo-a", seq=7, type="task_created", task_id="t-1", version=1,
    task=WireTask(id="t-1", repository="repo-a", content="milk", created_at="x", updated_at="x"),
    origin="alice", timestamp="2026-11-26T02:11:29.123456Z",
)

# Each message with the JSON that PROTOCOL.md shows for it (key order included: the frames
# must stay byte for byte what the server and client sent before these types existed).
SERVER_MESSAGES = {
    "subscribed": (Subscribed(repositories={"repo-a": 40}),
                   '{"type":"subscribed","repositories":{"repo-a":40}}'),
    "unsubscribed": (Unsubscribed(repositories=["repo-a"]),
                     '{"type":"unsubscribed","repositories":["repo-a"]}'),
    "event": (EventMessage(replay=True, event=EVENT),
              '{"type":"event","replay":true,"event":' + msgspec.json.encode(EVENT).decode() + "}"),
    "resync_required": (
        ResyncRequired(repository="repo-a", after=12, earliest_seq=30, last_seq=40),
        '{"type":"resync_required","repository":"repo-a","after":12,"earliest_seq":30,'
        '"last_seq":40}',
    ),
    "ping with ts": (Ping(ts=1764123089.5), '{"type":"ping","ts":1764123089.5}'),
    "pong": (Pong(), '{"type":"pong"}'),
    "error": (ErrorMessage(error="bad_message", message="send JSON"),
              '{"type":"error","error":"bad_message","message":"send JSON"}'),
}
CLIENT_MESSAGES = {
    "subscribe": (Subscribe(repositories={"repo-a": 12, "repo-b": 0}),
                  '{"type":"subscribe","repositories":{"repo-a":12,"repo-b":0}}'),
    "unsubscribe": (Unsubscribe(repositories=["repo-a"]),
                    '{"type":"unsubscribe","repositories":["repo-a"]}'),
    "ping": (Ping(), '{"type":"ping"}'),
    "pong": (Pong(), '{"type":"pong"}'),
}


@pytest.mark.parametrize(("message", "wire"), SERVER_MESSAGES.values(), ids=SERVER_MESSAGES)
def test_each_server_message_encodes_as_the_protocol_shows_and_decodes_back(
    message: msgspec.Struct, wire: str
) -> None:
    assert msgspec.json.encode(message).decode() == wire
    assert msgspec.json.decode(wire, type=ServerMessage) == message


@pytest.mark.parametrize(("message", "wire"), CLIENT_MESSAGES.values(), ids=CLIENT_MESSAGES)
def test_each_client_message_encodes_as_the_protocol_shows_and_decodes_back(
    message: msgspec.Struct, wire: str
) -> None:
    assert msgspec.json.encode(message).decode() == wire
    assert msgspec.json.decode(wire, type=ClientMessage) == message


def test_an_event_without_replay_is_live() -> None:
    wire = json.dumps({"type": "event", "event": msgspec.to_builtins(EVENT)})
    assert msgspec.json.decode(wire, type=ServerMessage) == EventMessage(event=EVENT)


@pytest.mark.parametrize(
    "wire",
    [
        '{"type": "subscribe", "repositories": {"no/slashes": 0}}',
        '{"type": "subscribe", "repositories": {"repo-a": -1}}',
        '{"type": "subscribe", "repositories": {"repo-a": 0}, "extra": 1}',
        '{"type": "unsubscribe", "repositories": [""]}',
        '{"type": "event"}',
    ],
)
def test_client_messages_the_server_must_refuse_do_not_decode(wire: str) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(wire, type=ClientMessage)


@pytest.mark.parametrize(
    ("annotated", "pattern", "max_chars", "good", "bad"),
    [
        (RepositoryName, REPOSITORY_PATTERN, MAX_REPOSITORY_CHARS, "repo.a_b-1", "repo:a"),
        (TaskId, TASK_ID_PATTERN, MAX_ID_CHARS, "t:1.a_b-2", "t/1"),
    ],
    ids=["repository", "task id"],
)
def test_one_pattern_and_length_define_each_name(
    annotated: object, pattern: str, max_chars: int, good: str, bad: str
) -> None:
    schema = msgspec.json.schema(annotated)
    assert (schema["pattern"], schema["minLength"], schema["maxLength"]) == (pattern, 1, max_chars)
    decode = msgspec.json.Decoder(annotated).decode
    assert decode(json.dumps(good)) == good and re.match(pattern, good)
    for refused in (bad, "", "a" * (max_chars + 1)):
        with pytest.raises(msgspec.ValidationError):
            decode(json.dumps(refused))


@pytest.mark.parametrize(("field", "value"), [
    ("repository", "repo\n"), ("repository", "repo"),
    ("task_id", "t-1\n"), ("task_id", "t-1"),
    ("updated_at", "2024-01-01T00:00:00Z\n"), ("updated_at", "\n"),
    ("updated_at", "2024-01-01T00:00:00Z"), ("updated_at", ""),
])
def test_a_trailing_newline_is_no_part_of_a_name_or_time(field: str, value: str) -> None:
    # Python's `$` matches before a final newline; the patterns must not (JSON Schema's does not)
    item = {"change_id": "c", "task_id": "t", "task": {"content": "x"}}
    request = {"repository": "r", "client_id": "a", "items": [item]}
    if field == "repository":
        request["repository"] = value
    else:
        item[field] = value
    body = msgspec.json.encode(request)
    if value.endswith("\n"):
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(body, type=SyncRequest)
    else:
        msgspec.json.decode(body, type=SyncRequest)
