"""A real Toxiproxy server and a thread-safe handle on its API; the only user of toxiproxy-python.

Three ways to get a server, tried in this order: a running one at `TOXIPROXY_URL`; a
`toxiproxy-server` binary on PATH or in the repository's .tools/bin (`make toxiproxy`);
a container of DEFAULT_IMAGE when a Docker engine answers.

    server.py    ToxiproxyServer: finds or starts the server, and records how (ToxiproxyInfo)
    control.py   ToxiproxyControl: proxies and toxics through the server's API
    toxics.py    ToxicSpec (validated), ActiveToxic, ProxyHandle
    errors.py    the one exception tree every part raises from, and its advice

Import from here; the submodules are how the package is laid out, not its surface.
"""

from syncbench.toxiproxy.control import ToxiproxyControl
from syncbench.toxiproxy.errors import (
    DEFAULT_IMAGE,
    REPO_TOOLS_BIN,
    InvalidToxicSpec,
    ProxyAlreadyExists,
    ProxyNotFound,
    ToxicNotFound,
    ToxicRejected,
    ToxiproxyError,
    ToxiproxyRequestFailed,
    ToxiproxyStartFailed,
    ToxiproxyUnavailable,
)
from syncbench.toxiproxy.server import (
    ToxiproxyInfo,
    ToxiproxyServer,
    binary_module_version,
    default_search_dirs,
    docker_engine_answers,
    find_binary,
)
from syncbench.toxiproxy.toxics import (
    STREAMS,
    TOXIC_ATTRIBUTES,
    ActiveToxic,
    ProxyHandle,
    ToxicSpec,
)

__all__ = [
    "DEFAULT_IMAGE", "REPO_TOOLS_BIN", "STREAMS", "TOXIC_ATTRIBUTES", "ActiveToxic",
    "InvalidToxicSpec", "ProxyAlreadyExists", "ProxyHandle", "ProxyNotFound", "ToxicNotFound",
    "ToxicRejected", "ToxicSpec", "ToxiproxyControl", "ToxiproxyError", "ToxiproxyInfo",
    "ToxiproxyRequestFailed", "ToxiproxyServer", "ToxiproxyStartFailed", "ToxiproxyUnavailable",
    "binary_module_version", "default_search_dirs", "docker_engine_answers", "find_binary",
]
