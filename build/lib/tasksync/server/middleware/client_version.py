"""Refuses clients whose X-Client-Version has a major version this server does not speak.

Also refuses (400) an X-Client-ID outside 1-200 characters on every route (not only the
writes that use it as `origin`): the rate limiter keys its buckets by that header.
"""

from __future__ import annotations

from starlette.types import Scope

from tasksync.server.http_api import MAX_HEADER_CHARS
from tasksync.server.middleware.responses import Refusal, header

SUPPORTED_MAJOR_VERSIONS = frozenset({1})


def client_refusal(scope: Scope, supported: frozenset[int] = SUPPORTED_MAJOR_VERSIONS
                   ) -> Refusal | None:
    """400 for a bad X-Client-ID, 426 Upgrade Required for an unsupported X-Client-Version
    (no version header is accepted), else None."""
    caller = header(scope, b"x-client-id")
    if caller is not None and not 0 < len(caller) <= MAX_HEADER_CHARS:
        return Refusal(400, "bad_request", f"X-Client-ID must be 1-{MAX_HEADER_CHARS} characters")
    version = header(scope, b"x-client-version")
    if version is None:
        return None
    major = version.strip().lstrip("v").split(".", 1)[0]
    if major.isdigit() and int(major) in supported:
        return None
    wanted = ", ".join(f"{m}.x" for m in sorted(supported))
    return Refusal(
        426, "client_version_unsupported",
        f"client version {version!r} is not supported by this server (it speaks {wanted});"
        " upgrade the client to a supported version",
    )
