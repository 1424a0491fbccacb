"""wrk Lua scripts: a POST of a ~200-byte JSON body, with a fresh Idempotency-Key per request.

Every request of a tasksync client carries X-Client-ID, X-Client-Version and (for writes) an
Idempotency-Key, so the load does too: the server then does all a real create does.
`delay_ms` paces each connection (wrk's `delay()` hook) for open-rate runs.
"""

from __future__ import annotations

import uuid

_TEMPLATE = """
local counter = 0
local prefix = "{nonce}-" .. tostring(math.random(1, 1000000000))
local pad = string.rep("x", {pad})
function setup(thread) thread:set("id", tostring(math.random(1, 1000000000))) end
request = function()
  counter = counter + 1
  local body = '{{"repository":"{repository}","content":"task ' .. counter .. ' ' .. pad
    .. '","priority":"medium"}}'
  local headers = {{}}
  headers["Content-Type"] = "application/json"
  headers["X-Client-ID"] = "wrk-bench"
  headers["X-Client-Version"] = "1.0.0"
  headers["Idempotency-Key"] = prefix .. "-" .. counter
  return wrk.format("POST", "{path}", headers, body)
end
{delay}
"""


def post_json(path: str, *, repository: str = "bench", delay_ms: float | None = None) -> str:
    """A script that POSTs a ~200-byte task body to `path` (unique keys per run and request)."""
    delay = "" if delay_ms is None else f"function delay() return {delay_ms:.3f} end"
    return _TEMPLATE.format(nonce=uuid.uuid4().hex[:12], pad=150, repository=repository,
                            path=path, delay=delay)
