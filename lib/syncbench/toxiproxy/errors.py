"""Every error syncbench.toxiproxy raises, as one tree, and the advice they carry.

    ToxiproxyError
    ├── ToxiproxyUnavailable     no URL, no binary and no Docker engine: nothing to start
    ├── ToxiproxyStartFailed     a way was found, but the server did not answer in time
    ├── InvalidToxicSpec         a ToxicSpec Toxiproxy would refuse or silently misread
    └── ToxiproxyRequestFailed   the API did not answer, or answered with an error
        ├── ProxyNotFound
        ├── ProxyAlreadyExists
        ├── ToxicNotFound
        └── ToxicRejected        400/409 on a toxic (bad attributes, name already used)

The advice names the three ways to get Toxiproxy: a running server at TOXIPROXY_URL; a
`toxiproxy-server` binary on PATH or in the repository's .tools/bin (`make toxiproxy`); a
container of DEFAULT_IMAGE when a Docker engine answers.
"""

from __future__ import annotations

from pathlib import Path

# built here from the pinned tag, FROM scratch (`make containers`; no registry is reachable)
DEFAULT_IMAGE = "syncbench/toxiproxy:2.12.0"
REPO_ROOT = Path(__file__).resolve().parents[3]
REPO_TOOLS_BIN = REPO_ROOT / ".tools" / "bin"
BINARY_NAME = "toxiproxy-server"

HOW_TO_GET_TOXIPROXY = (
    "set TOXIPROXY_URL to a running server (e.g. http://127.0.0.1:8474); "
    "or run `make toxiproxy` (needs Go) or put a `toxiproxy-server` binary on PATH or in "
    f"{REPO_TOOLS_BIN}; or start a Docker engine and `make containers` so a {DEFAULT_IMAGE} "
    "container can run"
)


class ToxiproxyError(Exception):
    """Base of every error syncbench.toxiproxy raises."""


class ToxiproxyUnavailable(ToxiproxyError):
    """No way to get a Toxiproxy server was found."""


class ToxiproxyStartFailed(ToxiproxyError):
    """A way to get a server was found, but the server did not come up."""


class InvalidToxicSpec(ToxiproxyError, ValueError):
    """A toxic description is wrong; `field` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class ToxiproxyRequestFailed(ToxiproxyError):
    """The Toxiproxy API did not answer in time, or answered with an error."""


class ProxyNotFound(ToxiproxyRequestFailed):
    pass


class ProxyAlreadyExists(ToxiproxyRequestFailed):
    pass


class ToxicNotFound(ToxiproxyRequestFailed):
    pass


class ToxicRejected(ToxiproxyRequestFailed):
    pass


__all__ = [
    "BINARY_NAME", "DEFAULT_IMAGE", "HOW_TO_GET_TOXIPROXY", "REPO_TOOLS_BIN", "InvalidToxicSpec",
    "ProxyAlreadyExists", "ProxyNotFound", "ToxicNotFound", "ToxicRejected", "ToxiproxyError",
    "ToxiproxyRequestFailed", "ToxiproxyStartFailed", "ToxiproxyUnavailable",
]
