"""The Toxiproxy control API: proxies and toxics on one running server, with named errors.

Wraps toxiproxy-python (its only user): every request gets a deadline, and every error status
becomes one of syncbench.toxiproxy.errors' exceptions, whose advice names the three ways to
get a server (TOXIPROXY_URL, a `toxiproxy-server` binary, a Docker container).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import requests
import toxiproxy
import toxiproxy.api
import toxiproxy.exceptions
from toxiproxy.api import APIConsumer

from syncbench.toxiproxy.errors import (
    HOW_TO_GET_TOXIPROXY,
    ProxyAlreadyExists,
    ProxyNotFound,
    ToxicNotFound,
    ToxicRejected,
    ToxiproxyRequestFailed,
)
from syncbench.toxiproxy.toxics import ActiveToxic, ProxyHandle, ToxicSpec

_ERRORS_BY_MESSAGE: dict[str, type[ToxiproxyRequestFailed]] = {
    "proxy not found": ProxyNotFound,
    "proxy already exists": ProxyAlreadyExists,
    "toxic not found": ToxicNotFound,
    "toxic already exists": ToxicRejected,
}

_HINTS: dict[type[ToxiproxyRequestFailed], str] = {
    ProxyNotFound: "create the proxy first, or check its name",
    ProxyAlreadyExists: "pick another name or delete the existing proxy first",
    ToxicNotFound: "it was already removed (a reset removes every toxic)",
    ToxicRejected: "check the toxic's type, stream and attributes, and that its name is unused",
}


class _Transport:
    """Stands in for the `requests` module inside toxiproxy-python while we hold the lock.

    The client calls requests without a timeout and ignores statuses other than 400/404/409
    (a 500 such as "address already in use" passes silently), so every request goes through
    here: it gets a deadline, and any error status becomes one of our named exceptions.
    """

    def __init__(self, api_url: str, timeout: float) -> None:
        self.api_url = api_url
        self.timeout = timeout
        self.session = requests.Session()

    def get(self, url: str, params: Any = None, **kwargs: Any) -> requests.Response:
        return self._send("GET", url, params=params, **kwargs)

    def post(self, url: str, data: Any = None, json: Any = None,
             **kwargs: Any) -> requests.Response:
        return self._send("POST", url, data=data, json=json, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        return self._send("DELETE", url, **kwargs)

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        path = urlsplit(url).path
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise ToxiproxyRequestFailed(
                f"Toxiproxy at {self.api_url} did not answer {method} {path} within "
                f"{self.timeout}s ({exc.__class__.__name__}); check that the server runs "
                f"there, or {HOW_TO_GET_TOXIPROXY}") from exc
        if response.status_code >= 400:
            raise _error_for(response, method, path)
        return response


def _error_for(response: requests.Response, method: str, path: str) -> ToxiproxyRequestFailed:
    try:
        message = str(response.json().get("error", response.text))
    except ValueError:
        message = response.text.strip()
    error = _ERRORS_BY_MESSAGE.get(message)
    if error is None:
        error = ToxicRejected if "/toxics" in path and response.status_code == 400 \
            else ToxiproxyRequestFailed
    hint = _HINTS.get(error, "see the Toxiproxy server's log")
    return error(f"Toxiproxy refused {method} {path} ({response.status_code}: {message}); {hint}")


# toxiproxy-python keeps the server's host and port (and its `requests`) as module-level
# state; one lock around every use makes it safe to talk to several servers from threads.
_CLIENT_LOCK = threading.Lock()


class ToxiproxyControl:
    """Proxies and toxics on one Toxiproxy server, through toxiproxy-python.

    Methods block (HTTP with a deadline of `timeout` seconds); from async code call them
    with `asyncio.to_thread`.
    """

    def __init__(self, api_url: str, timeout: float = 5.0) -> None:
        parts = urlsplit(api_url)
        if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"Toxiproxy API URL {api_url!r} must look like http://HOST:PORT")
        self.api_url = f"http://{parts.hostname}:{parts.port or 8474}"
        self._host = parts.hostname
        self._port = parts.port or 8474
        self._transport = _Transport(self.api_url, timeout)

    def __repr__(self) -> str:
        return f"ToxiproxyControl({self.api_url!r})"

    @contextlib.contextmanager
    def _client(self) -> Iterator[toxiproxy.Toxiproxy]:
        with _CLIENT_LOCK:
            saved = APIConsumer.host, APIConsumer.port, toxiproxy.api.requests
            APIConsumer.host, APIConsumer.port = self._host, self._port
            toxiproxy.api.requests = self._transport  # type: ignore[assignment]
            try:
                yield toxiproxy.Toxiproxy()
            except toxiproxy.exceptions.ProxyExists as exc:
                raise ProxyAlreadyExists(
                    f"Toxiproxy at {self.api_url} already has that proxy; "
                    f"{_HINTS[ProxyAlreadyExists]}") from exc
            finally:
                APIConsumer.host, APIConsumer.port, toxiproxy.api.requests = saved

    @staticmethod
    def _proxy(proxy: ProxyHandle | str) -> toxiproxy.Proxy:
        # The client's Proxy only needs the name to address the API; no GET is needed.
        name = proxy.name if isinstance(proxy, ProxyHandle) else proxy
        return toxiproxy.Proxy(name=name, upstream="", enabled=True, listen="")

    def version(self) -> str:
        """The version the server reports (builds made with `go install` report "git")."""
        with self._client():
            response = APIConsumer.get("/version")
        try:
            return str(response.json()["version"])
        except (ValueError, KeyError, TypeError):
            return response.text.strip()  # servers before 2.6 answer plain text

    def create_proxy(self, name: str, upstream: str, listen: str = "127.0.0.1:0") -> ProxyHandle:
        """A new proxy from `listen` to `upstream`; with port 0 the server picks a free port."""
        with self._client() as client:
            proxy = client.create(upstream=upstream, name=name, listen=listen)
        return _handle(proxy)

    def get_proxy(self, name: str) -> ProxyHandle:
        proxies = self.list_proxies()
        if name not in proxies:
            raise ProxyNotFound(f"Toxiproxy at {self.api_url} has no proxy {name!r} "
                                f"(it has: {', '.join(sorted(proxies)) or 'none'})")
        return proxies[name]

    def list_proxies(self) -> dict[str, ProxyHandle]:
        with self._client() as client:
            proxies = client.proxies()
        return {name: _handle(proxy) for name, proxy in proxies.items()}

    def delete_proxy(self, proxy: ProxyHandle | str) -> None:
        with self._client():
            self._proxy(proxy).destroy()

    def disable(self, proxy: ProxyHandle | str) -> None:
        """Take the proxy down: open connections drop and new ones are refused (an outage)."""
        with self._client():
            self._proxy(proxy).disable()

    def enable(self, proxy: ProxyHandle | str) -> None:
        with self._client():
            self._proxy(proxy).enable()

    def add_toxic(self, proxy: ProxyHandle | str, spec: ToxicSpec) -> str:
        """Add the toxic; returns its name on the server, which `remove_toxic` takes."""
        with self._client():
            self._proxy(proxy).add_toxic(**spec.to_dict())
        return spec.toxic_name

    def remove_toxic(self, proxy: ProxyHandle | str, toxic: ToxicSpec | str) -> None:
        name = toxic.toxic_name if isinstance(toxic, ToxicSpec) else toxic
        with self._client():
            self._proxy(proxy).destroy_toxic(name)

    def list_toxics(self, proxy: ProxyHandle | str) -> list[ActiveToxic]:
        with self._client():
            toxics = self._proxy(proxy).toxics()
        return [ActiveToxic(name=t.name, type=t.type, stream=t.stream, toxicity=t.toxicity,
                            attributes=MappingProxyType(dict(t.attributes)))
                for t in toxics.values()]

    def clear_toxics(self, proxy: ProxyHandle | str) -> None:
        for toxic in self.list_toxics(proxy):
            with contextlib.suppress(ToxicNotFound):
                self.remove_toxic(proxy, toxic.name)

    def reset(self) -> None:
        """Enable every proxy and remove every toxic on the server."""
        with self._client() as client:
            client.reset()

    def delete_all_proxies(self) -> None:
        for name in self.list_proxies():
            with contextlib.suppress(ProxyNotFound):
                self.delete_proxy(name)


def _handle(proxy: toxiproxy.Proxy) -> ProxyHandle:
    return ProxyHandle(name=proxy.name, listen=proxy.listen, upstream=proxy.upstream,
                       enabled=bool(proxy.enabled))


__all__ = ["ToxiproxyControl"]
