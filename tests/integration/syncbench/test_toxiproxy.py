"""A real toxiproxy-server: provisioning, the control API, every shipped profile measured on
live TCP connections (fault schedules are played by syncbench.nemesis: its tests)."""

from __future__ import annotations

import asyncio
import os
import socket
import socketserver
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from syncbench.machine import free_port
from syncbench.profiles import (
    NetworkProfile,
    apply_profile,
    get_profile,
    load_profiles,
    remove_profile,
)
from syncbench.toxiproxy import (
    REPO_TOOLS_BIN,
    InvalidToxicSpec,
    ProxyAlreadyExists,
    ProxyHandle,
    ProxyNotFound,
    ToxicNotFound,
    ToxicRejected,
    ToxicSpec,
    ToxiproxyControl,
    ToxiproxyRequestFailed,
    ToxiproxyServer,
    ToxiproxyStartFailed,
    ToxiproxyUnavailable,
)

PROFILES = load_profiles()
Address = tuple[str, int]


# --- servers behind the proxies ---------------------------------------------------------

class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class TcpServer:
    """A TCP server on 127.0.0.1 whose connection handler is a plain function."""

    def __init__(self, handle: Callable[[socket.socket], None]) -> None:
        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    handle(self.request)
                except OSError:
                    pass  # the proxy reset or dropped the connection: that is the test

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.address: Address = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def upstream(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def echo(conn: socket.socket) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


def send_then_close(payload: bytes) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        conn.sendall(payload)
        conn.shutdown(socket.SHUT_WR)
    return handle


@pytest.fixture
def tcp_server() -> Iterator[Callable[[Callable[[socket.socket], None]], TcpServer]]:
    started: list[TcpServer] = []

    def start(handle: Callable[[socket.socket], None]) -> TcpServer:
        server = TcpServer(handle)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def echo_server(tcp_server) -> TcpServer:
    return tcp_server(echo)


# --- Toxiproxy -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def toxiproxy_server() -> Iterator[ToxiproxyServer]:
    # A fixed seed makes toxicity draws (reset-storm) repeat from run to run.
    with ToxiproxyServer(seed=7) as server:
        print(f"\nToxiproxy: {server.info}")
        yield server


@pytest.fixture
def control(toxiproxy_server: ToxiproxyServer) -> Iterator[ToxiproxyControl]:
    control = toxiproxy_server.control()
    yield control
    control.delete_all_proxies()


@pytest.fixture
def proxy_to(control: ToxiproxyControl) -> Callable[[TcpServer], ProxyHandle]:
    def create(server: TcpServer) -> ProxyHandle:
        return control.create_proxy(f"test-{uuid.uuid4().hex[:8]}", server.upstream)
    return create


# --- measuring helpers ------------------------------------------------------------------

def connect(address: Address, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(address, timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def recv_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def round_trips(address: Address, count: int, connections: int = 8) -> list[float]:
    """Seconds per 16-byte echo round trip, `count` of them over parallel connections
    (each toxic delays each connection on its own, so parallel samples don't queue)."""
    message = b"x" * 16

    def measure(n: int) -> list[float]:
        with connect(address) as sock:
            sock.sendall(message)
            recv_exactly(sock, len(message))  # warm-up: the proxy dials upstream on first use
            samples = []
            for _ in range(n):
                start = time.perf_counter()
                sock.sendall(message)
                recv_exactly(sock, len(message))
                samples.append(time.perf_counter() - start)
            return samples

    shares = [count // connections + (i < count % connections) for i in range(connections)]
    with ThreadPoolExecutor(connections) as pool:
        return [s for samples in pool.map(measure, shares) for s in samples]


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[round(q) - 1]


def latency_of(profile: NetworkProfile) -> tuple[int, int]:
    """The round-trip latency and jitter (ms) a profile's latency toxics add."""
    toxics = [t for t in profile.toxics if t.type == "latency"]
    return (sum(t.attributes.get("latency", 0) for t in toxics),
            sum(t.attributes.get("jitter", 0) for t in toxics))


def refuses(address: Address) -> bool:
    try:
        socket.create_connection(address, timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


# --- profiles measured on live connections ---------------------------------------------

@pytest.mark.parametrize("name", ["lan", "wan", "mobile-3g", "lossy-wifi"])
def test_latency_profile_adds_its_configured_round_trip_latency(
        name: str, control, echo_server, proxy_to) -> None:
    profile = get_profile(name, PROFILES)
    expected_ms, jitter_ms = latency_of(profile)
    proxy = proxy_to(echo_server)
    direct = statistics.median(round_trips(echo_server.address, 40))
    # Baseline through the same proxy without toxics: what remains is the profile's doing.
    # Noise from the rest of the machine only ever adds time, so each side is the least
    # disturbed of three medians, taken in turn (a busy stretch hits one pair, not all).
    baselines, medians = [], []
    for _ in range(3):
        baselines.append(statistics.median(round_trips(proxy.address, 40)))
        applied = apply_profile(control, proxy, profile)
        medians.append(statistics.median(round_trips(proxy.address, 40)))
        remove_profile(control, applied)
    baseline, median = min(baselines), min(medians)

    added_ms = (median - baseline) * 1000
    print(f"{name}: median added {added_ms:.1f} ms (vs direct "
          f"{(median - direct) * 1000:.1f} ms), configured {expected_ms} ms")
    # Jitter is uniform and symmetric, so the median sits on the configured value. Toxiproxy
    # never delays less than asked, so the slack below covers sampling spread only, and the
    # slack above also covers timer and scheduling noise on a busy machine.
    spread_ms = 0.5 * jitter_ms + 0.05 * expected_ms
    assert expected_ms - 1 - spread_ms <= added_ms <= expected_ms + 3 + spread_ms
    assert control.list_toxics(proxy) == []


def test_wan_round_trip_latency_over_200_round_trips(control, echo_server, proxy_to) -> None:
    proxy = proxy_to(echo_server)
    direct = round_trips(echo_server.address, 200)
    apply_profile(control, proxy, get_profile("wan", PROFILES))
    samples = round_trips(proxy.address, 200)
    added = [(s - statistics.median(direct)) * 1000 for s in samples]
    median, p99 = statistics.median(added), percentile(added, 99)
    print(f"\nwan over {len(samples)} round trips: added median {median:.1f} ms, "
          f"p99 {p99:.1f} ms, min {min(added):.1f} ms, max {max(added):.1f} ms "
          f"(configured 80 ms +/- 10 ms per round trip; direct median "
          f"{statistics.median(direct) * 1e6:.0f} us, p99 {percentile(direct, 99) * 1e6:.0f} us)")
    assert abs(median - 80) <= 5
    # Toxiproxy never delays less than asked, so the floor is tight; the tail above 90 ms is
    # jitter plus timer and scheduling noise, which on two shared cores reaches ~10 ms.
    assert 70 - 2 <= min(added) and p99 <= 90 + 20


@pytest.mark.parametrize("name", ["bandwidth-1KBps", "mobile-3g"])
def test_bandwidth_profile_limits_throughput_to_its_rate(
        name: str, control, tcp_server, proxy_to) -> None:
    profile = get_profile(name, PROFILES)
    rate = next(t.attributes["rate"] for t in profile.toxics
                if t.type == "bandwidth" and t.stream == "downstream") * 1000  # bytes/s
    latency = sum(t.attributes.get("latency", 0) for t in profile.toxics
                  if t.type == "latency" and t.stream == "downstream") / 1000
    payload = b"b" * (rate // 2)  # half a second's worth at the limit
    server = tcp_server(send_then_close(payload))
    proxy = proxy_to(server)

    def download(address: Address) -> float:
        start = time.perf_counter()
        with connect(address) as sock:
            assert recv_until_closed(sock) == payload
        return time.perf_counter() - start

    assert download(server.address) < 0.1
    apply_profile(control, proxy, profile)
    throughput = len(payload) / (download(proxy.address) - latency)
    print(f"{name}: {throughput:.0f} bytes/s, configured {rate} bytes/s")
    assert 0.75 * rate <= throughput <= 1.25 * rate


def test_lossy_wifi_delivers_responses_in_slices(control, echo_server, proxy_to) -> None:
    proxy = proxy_to(echo_server)
    apply_profile(control, proxy, get_profile("lossy-wifi", PROFILES))
    payload = os.urandom(16_000)
    with connect(proxy.address) as sock:
        sock.sendall(payload)
        chunks = []
        while sum(map(len, chunks)) < len(payload):
            chunks.append(sock.recv(65536))
    assert b"".join(chunks) == payload
    assert len(chunks) >= 4  # about 11 slices of ~1400 bytes, 3 ms apart


def test_timeout_blackhole_stalls_reads_until_the_client_gives_up(
        control, echo_server, proxy_to) -> None:
    proxy = proxy_to(echo_server)
    applied = apply_profile(control, proxy, get_profile("timeout-blackhole", PROFILES))
    with connect(proxy.address, timeout=0.5) as sock:
        sock.sendall(b"anyone there?")
        with pytest.raises(TimeoutError):
            sock.recv(100)
    remove_profile(control, applied)
    with connect(proxy.address) as sock:
        sock.sendall(b"back")
        assert recv_exactly(sock, 4) == b"back"


def test_reset_storm_resets_about_its_share_of_connections(
        control, echo_server, proxy_to) -> None:
    profile = get_profile("reset-storm", PROFILES)
    proxy = proxy_to(echo_server)
    apply_profile(control, proxy, profile)
    outcomes = []
    for _ in range(40):
        with connect(proxy.address) as sock:
            sock.sendall(b"ping")
            try:
                outcomes.append("ok" if recv_exactly(sock, 4) == b"ping" else "garbled")
            except ConnectionResetError:
                outcomes.append("reset")
    resets = outcomes.count("reset")
    print(f"reset-storm: {resets} of 40 connections reset (toxicity "
          f"{profile.toxics[0].toxicity})")
    assert outcomes.count("ok") + resets == 40
    assert 8 <= resets <= 32  # toxicity 0.5 of 40: far outside this is ~1e-5 likely


def test_slow_close_delays_the_close_by_its_delay(control, tcp_server, proxy_to) -> None:
    server = tcp_server(send_then_close(b"bye"))
    proxy = proxy_to(server)

    def seconds_to_close(address: Address) -> float:
        with connect(address) as sock:
            assert recv_exactly(sock, 3) == b"bye"
            start = time.perf_counter()
            assert sock.recv(10) == b""
            return time.perf_counter() - start

    assert seconds_to_close(proxy.address) < 0.2
    apply_profile(control, proxy, get_profile("slow-close", PROFILES))
    assert 0.95 <= seconds_to_close(proxy.address) <= 1.5  # configured: 1000 ms


def test_cut_after_64KB_ends_the_response_after_65536_bytes(
        control, tcp_server, proxy_to) -> None:
    payload = os.urandom(200_000)
    server = tcp_server(send_then_close(payload))
    proxy = proxy_to(server)
    apply_profile(control, proxy, get_profile("cut-after-64KB", PROFILES))
    with connect(proxy.address) as sock:
        received = recv_until_closed(sock)
    assert received == payload[:65536]


def test_outage_refuses_connections_and_drops_open_ones(control, echo_server, proxy_to) -> None:
    proxy = proxy_to(echo_server)
    with connect(proxy.address) as open_conn:
        open_conn.sendall(b"hi")
        assert recv_exactly(open_conn, 2) == b"hi"
        applied = apply_profile(control, proxy, get_profile("outage", PROFILES))
        assert refuses(proxy.address)
        open_conn.settimeout(2)
        try:
            assert open_conn.recv(10) == b""
        except ConnectionResetError:
            pass
    assert control.get_proxy(proxy.name).enabled is False
    remove_profile(control, applied)
    with connect(proxy.address) as sock:
        sock.sendall(b"up")
        assert recv_exactly(sock, 2) == b"up"


def test_every_shipped_profile_applies_and_removes_cleanly(
        control, echo_server, proxy_to) -> None:
    proxy = proxy_to(echo_server)
    for profile in PROFILES.values():
        applied = apply_profile(control, proxy, profile)
        assert len(control.list_toxics(proxy)) == len(profile.toxics)
        remove_profile(control, applied)
        assert control.list_toxics(proxy) == []
        assert control.get_proxy(proxy.name).enabled


# --- the control API ---------------------------------------------------------------------

def test_control_errors_are_named(control, echo_server, toxiproxy_server) -> None:
    proxy = control.create_proxy("named-errors", echo_server.upstream)
    with pytest.raises(ProxyAlreadyExists, match="pick another name"):
        control.create_proxy("named-errors", echo_server.upstream)
    with pytest.raises(ProxyNotFound, match="has no proxy 'nope'"):
        control.get_proxy("nope")
    with pytest.raises(ProxyNotFound, match="404: proxy not found"):
        control.disable("nope")
    with pytest.raises(ToxicNotFound, match="toxic not found"):
        control.remove_toxic(proxy, "nope")
    control.add_toxic(proxy, ToxicSpec("latency", {"latency": 1}))
    with pytest.raises(ToxicRejected, match="toxic already exists"):
        control.add_toxic(proxy, ToxicSpec("latency", {"latency": 2}))
    api_address = toxiproxy_server.api_url.removeprefix("http://")
    with pytest.raises(ToxiproxyRequestFailed, match="address already in use"):
        control.create_proxy("clash", echo_server.upstream, listen=api_address)


def test_control_lists_clears_and_resets(control, echo_server) -> None:
    proxy = control.create_proxy("listed", echo_server.upstream)
    assert control.list_proxies()["listed"] == proxy and proxy.port > 0
    control.add_toxic(proxy, ToxicSpec("latency", {"latency": 3}, stream="upstream"))
    control.add_toxic(proxy, ToxicSpec("bandwidth", {"rate": 5}, name="slow"))
    assert {(t.name, t.type) for t in control.list_toxics(proxy)} == {
        ("latency_upstream", "latency"), ("slow", "bandwidth")}
    control.clear_toxics(proxy)
    assert control.list_toxics(proxy) == []
    control.add_toxic(proxy, ToxicSpec("timeout"))
    control.disable(proxy)
    control.reset()
    assert control.list_toxics(proxy) == [] and control.get_proxy("listed").enabled
    control.delete_proxy(proxy)
    assert "listed" not in control.list_proxies()


def test_half_applied_profile_is_taken_back(control, echo_server, proxy_to) -> None:
    proxy = proxy_to(echo_server)
    # Occupy the name the profile's second toxic will want, so adding it fails.
    control.add_toxic(proxy, ToxicSpec("latency", {"latency": 1}, stream="upstream",
                                       name="wan.1.latency_downstream"))
    with pytest.raises(ToxicRejected):
        apply_profile(control, proxy, get_profile("wan", PROFILES))
    assert [t.name for t in control.list_toxics(proxy)] == ["wan.1.latency_downstream"]


# --- provisioning -----------------------------------------------------------------------

def test_toxiproxy_url_is_used_as_is(toxiproxy_server: ToxiproxyServer, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with ToxiproxyServer(env={"TOXIPROXY_URL": toxiproxy_server.api_url},
                         search_dirs=[empty], use_docker=False) as server:
        assert server.info.source == "url"
        assert server.info.api_url == toxiproxy_server.api_url
        assert server.pid is None
        assert server.control().version() == server.info.reported_version
    assert toxiproxy_server.control().version()  # not stopped by the one that only used it


def test_toxiproxy_url_that_does_not_answer_says_so(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(ToxiproxyStartFailed, match="TOXIPROXY_URL=http://127.0.0.1:"):
        ToxiproxyServer(env={"TOXIPROXY_URL": f"http://127.0.0.1:{port}"},
                        search_dirs=[tmp_path], api_timeout=1).start()


def test_nothing_available_names_all_three_ways(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    server = ToxiproxyServer(env={}, search_dirs=[empty],
                             docker_base_url=f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(ToxiproxyUnavailable) as caught:
        server.start()
    message = str(caught.value)
    assert "TOXIPROXY_URL" in message
    assert "make toxiproxy" in message and "PATH" in message and str(empty) in message
    assert "Docker" in message


def test_a_container_asked_for_without_an_engine_says_how_to_get_one(tmp_path: Path) -> None:
    # a binary is there, but the container target asks for a container first
    server = ToxiproxyServer(env={}, search_dirs=[REPO_TOOLS_BIN], prefer_container=True,
                             docker_base_url=f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(ToxiproxyUnavailable, match="to run as a container.*make setup"):
        server.start()


def test_binary_starts_reports_its_version_and_leaves_nothing_behind(tmp_path: Path) -> None:
    with ToxiproxyServer(env={}, search_dirs=[REPO_TOOLS_BIN], use_docker=False) as server:
        info = server.info
        pid = server.pid
        port = int(info.api_url.rsplit(":", 1)[1])
        assert info.source == "binary" and info.origin.endswith("toxiproxy-server")
        assert info.version == "2.12.0"  # from Go's build info when the server says "git"
        assert _process_alive(pid)
    assert not _process_alive(pid)
    assert refuses(("127.0.0.1", port))


def test_binary_on_path_comes_before_tools_dir(tmp_path: Path) -> None:
    on_path = tmp_path / "bin"
    on_path.mkdir()
    (on_path / "toxiproxy-server").symlink_to(REPO_TOOLS_BIN / "toxiproxy-server")
    with ToxiproxyServer(env={"PATH": str(on_path)}, use_docker=False) as server:
        assert server.info.origin == str(on_path / "toxiproxy-server")


async def test_async_context_manager_starts_and_stops_the_binary() -> None:
    async with ToxiproxyServer(env={}, search_dirs=[REPO_TOOLS_BIN]) as server:
        pid = server.pid
        assert await asyncio.to_thread(server.control().version)
    assert not _process_alive(pid)


def test_binary_that_dies_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    fake = tmp_path / "toxiproxy-server"
    fake.write_text("#!/bin/sh\necho 'cannot bind: permission denied' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(ToxiproxyStartFailed, match="cannot bind: permission denied"):
        ToxiproxyServer(env={}, search_dirs=[tmp_path], use_docker=False,
                        start_timeout=5).start()


def _process_alive(pid: int | None) -> bool:
    assert pid is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _closed_port() -> int:
    return free_port()


def test_the_largest_attribute_a_spec_allows_is_one_toxiproxy_takes(
        control, echo_server, toxiproxy_server) -> None:
    # what ToxicSpec lets through, Toxiproxy accepts; one past int64 it refuses, which is
    # why a spec refuses it first (at load time, not mid-run)
    import requests

    from syncbench.toxiproxy.toxics import INT64_MAX, MAX_ATTRIBUTE

    proxy = control.create_proxy("largest", echo_server.upstream)
    control.add_toxic(proxy, ToxicSpec("latency", {"latency": MAX_ATTRIBUTE["latency"]},
                                       name="largest-latency"))
    control.add_toxic(proxy, ToxicSpec("bandwidth", {"rate": INT64_MAX}, name="largest-rate"))
    with pytest.raises(InvalidToxicSpec, match="more than Toxiproxy takes"):
        ToxicSpec("bandwidth", {"rate": INT64_MAX + 1})
    refused = requests.post(f"{toxiproxy_server.api_url}/proxies/largest/toxics", timeout=10,
                            json={"type": "bandwidth", "name": "past", "stream": "downstream",
                                  "toxicity": 1.0, "attributes": {"rate": INT64_MAX + 1}})
    assert refused.status_code == 400, refused.text
