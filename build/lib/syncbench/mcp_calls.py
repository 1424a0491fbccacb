"""An MCP client that keeps going through faults: each tool call is one History operation,
tried until it is answered (up to a deadline), under one idempotency key, re-initialising
the MCP session after a transport failure. Every attempt is recorded for the charts.

The session is the official SDK's `mcp.Client` over streamable HTTP. After a failed attempt
the session is dropped and a new one initialised before the next: a session whose POST was
cut may be half-broken on either side, and a restarted server has forgotten it (404), so a
fresh `initialize` is the one recovery that is always right. The tool call is then sent
again with the same idempotency key, which makes the retry safe.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from mcp import Client

from syncbench.history import History

RETRIED_STATUSES = frozenset({429})  # and every 5xx
CLOSE_TIMEOUT_S = 2.0


@dataclass
class CallPolicy:
    """How long one attempt may take, the backoff between attempts and the deadline of a
    whole call (after which it is recorded `info`: it may or may not have been applied)."""

    attempt_timeout_s: float = 3.0
    backoff_s: float = 0.1
    max_backoff_s: float = 1.0
    deadline_s: float = 30.0


@dataclass
class McpCaller:
    """One MCP client (`name`) calling the server's /mcp at `url`."""

    name: str
    url: str
    history: History
    policy: CallPolicy = field(default_factory=CallPolicy)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    sessions: int = 0  # sessions initialised (1 + re-initialisations)
    _session_now: _Session | None = None

    async def call(self, tool: str, arguments: dict[str, Any], **recorded: Any) -> dict | None:
        """Call `tool` until answered or the deadline; the answer's structured content, or
        None when it ended as a tool error (`fail`) or unanswered (`info`)."""
        op = self.history.invoke(self.name, tool, **recorded)
        deadline = time.monotonic() + self.policy.deadline_s
        attempt = 0
        while True:
            attempt += 1
            outcome, answer, error = await self._attempt(tool, arguments, op.op_id, attempt)
            if outcome == "ok":
                content = answer.structured_content or {}
                op.ok(task_id=content.get("id"), version=content.get("version"), attempts=attempt)
                return content
            if outcome == "tool_error":
                op.fail(error, attempts=attempt)
                return None
            pause = min(self.policy.backoff_s * 2 ** (attempt - 1), self.policy.max_backoff_s)
            if time.monotonic() + pause >= deadline:
                op.info(f"unanswered after {attempt} attempts: {error}", attempts=attempt)
                return None
            await asyncio.sleep(pause)

    async def _attempt(self, tool: str, arguments: dict[str, Any], op_id: int,
                       attempt: int) -> tuple[str, Any, str]:
        started = time.time()
        session = self.sessions
        outcome, answer, error = "ok", None, ""
        try:
            async with asyncio.timeout(self.policy.attempt_timeout_s):
                current = await self._session()
                session = self.sessions
                answer = await current.call(tool, arguments)
        except TimeoutError:
            outcome, error = "timeout", f"no answer in {self.policy.attempt_timeout_s:g}s"
        except Exception as exc:  # noqa: BLE001 (any transport failure: the session is suspect)
            outcome, error = "transport_error", _describe(exc)
        else:
            if answer.is_error:
                status = (answer.structured_content or {}).get("status") or 0
                error = answer.content[0].text if answer.content else "tool error"
                # a 5xx may have been applied: the retry, under the same key, settles it
                retried = status in RETRIED_STATUSES or status >= 500
                outcome = "retried_status" if retried else "tool_error"
        if outcome in ("timeout", "transport_error"):
            await self.close()  # a new session for the next attempt
        self.attempts.append({"client": self.name, "op_id": op_id, "tool": tool,
                              "attempt": attempt, "session": session, "started": started,
                              "ended": time.time(), "outcome": outcome, "error": error[:300]})
        return outcome, answer, error

    async def _session(self) -> _Session:
        if self._session_now is None:
            self._session_now = _Session(self.url)
            self.sessions += 1
        return self._session_now

    async def close(self) -> None:
        """End the session (best effort: the link may be down)."""
        session, self._session_now = self._session_now, None
        if session is not None:
            await session.close()


class SessionEnded(Exception):
    """The session's task ended (its transport failed) before answering."""


class _Session:
    """One MCP session in a task of its own, so that the SDK's task group and cancel scopes
    (anyio) stay inside it: a transport failure ends this task, never the caller's."""

    def __init__(self, url: str) -> None:
        self._requests: asyncio.Queue[tuple[str, dict[str, Any], asyncio.Future[Any]]] = (
            asyncio.Queue())
        self.failure = ""  # why the session ended, once it has
        self._task = asyncio.create_task(self._serve(url))

    async def _serve(self, url: str) -> None:
        pending: asyncio.Future[Any] | None = None
        try:
            async with Client(url) as client:
                while True:
                    tool, arguments, pending = await self._requests.get()
                    if pending.done():  # its caller gave up while it waited in the queue
                        continue
                    answer = await client.call_tool(tool, arguments)
                    if not pending.done():
                        pending.set_result(answer)
                    pending = None
        except BaseException as exc:
            self.failure = _describe(exc)
            if pending is not None and not pending.done():
                pending.set_exception(SessionEnded(_describe(exc)))
            if not isinstance(exc, Exception | asyncio.CancelledError):
                raise

    async def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._requests.put((tool, arguments, answer))
        try:
            await asyncio.wait({answer, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not answer.done():  # timed out: nobody will read what the session says
                answer.cancel()
        if not answer.cancelled():
            return answer.result()
        raise SessionEnded(f"initialize failed: {self.failure or 'the session ended'}")

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.wait({self._task}, timeout=CLOSE_TIMEOUT_S)


def _describe(exc: BaseException) -> str:
    """The innermost useful error of an exception group (anyio wraps transport errors)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"[:300]
