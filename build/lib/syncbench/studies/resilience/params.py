"""What a resilience run is started with: ResilienceParams, checked once, strictly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncbench.profiles import NetworkProfile, ProfileError, load_profiles, parse_profile
from syncbench.study import StudyParamError, StudyParams, param, require, seeded_bug_options
from tasksync.client import RetryPolicy

GROUP = "clients"  # the Toxiproxy proxy every faulted client goes through
SERVER = "server"  # what a storage fault targets

DEFAULT_CUSTOM_PROFILES: dict[str, Any] = {
    "cut-responses": {
        "description": "A middlebox that cuts every response after 64 bytes: the server has "
        "applied the write, the client sees the connection close mid-response.",
        "toxics": [{"type": "limit_data", "stream": "downstream", "attributes": {"bytes": 64}}],
    },
}
DEFAULT_FAULTS: tuple[str, ...] = (
    "wan", "timeout-blackhole", "reset-storm", "bandwidth-1KBps", "slow-close",
    "cut-responses", "outage",
)

_POSITIVE = ("fault_seconds", "think_seconds", "request_timeout", "retry_deadline",
             "large_task_timeout", "ws_heartbeat_timeout", "ws_catchup_seconds",
             "storage_fault_seconds", "storage_recover_seconds", "breaker_open_seconds",
             "max_detect_seconds", "max_recover_seconds", "rate_limit", "rate_burst")
_NON_NEGATIVE = ("lead_seconds", "recover_seconds", "recovery_grace_seconds", "base_delay",
                 "max_delay", "storage_delay_ms")
_AT_LEAST = {"clients": 1, "ws_clients": 0, "max_attempts": 1, "large_task_bytes": 0,
             "breaker_window": 1, "breaker_threshold": 1, "breaker_half_open_calls": 1,
             "rate_limit_requests": 1}


@dataclass(frozen=True)
class ResilienceParams(StudyParams):
    """Everything a resilience run is started with; a bad value names the parameter."""

    faults: tuple[str, ...] = param(DEFAULT_FAULTS, "network profiles, one fault window "
                                    "each, played in order on the clients' proxy")
    custom_profiles: dict[str, dict] = param(DEFAULT_CUSTOM_PROFILES, "profiles added to "
                                             "params/profiles.yaml (they win on a shared name)")
    clients: int = param(3, "HTTP clients creating and updating tasks")
    ws_clients: int = param(1, "WebSocket subscribers behind the same proxy")
    lead_seconds: float = param(0.5, "clean time before each fault")
    fault_seconds: float = param(2.0, "how long each network fault is on")
    recover_seconds: float = param(1.5, "clean time after each network fault")
    recovery_grace_seconds: float = param(0.5, "operations invoked this long after a fault "
                                          "cleared must all succeed")
    think_seconds: float = param(0.05, "mean pause between a client's requests (s)")
    update_share: float = param(0.3, "share of a client's requests that update a task it "
                                "created (0..1)")
    request_timeout: float = param(1.0, "client timeout per attempt (s)")
    max_attempts: int = param(10, "retry policy: attempts per request")
    base_delay: float = param(0.05, "retry policy: first backoff (s)")
    max_delay: float = param(0.5, "retry policy: backoff cap (s)")
    retry_deadline: float = param(8.0, "retry policy: give up after this many seconds")
    large_task_bytes: int = param(10_000, "size of the task the bulk client writes as each "
                                  "network fault starts (0: none)")
    large_task_timeout: float = param(15.0, "the bulk client's timeout per attempt (s)")
    ws_heartbeat_timeout: float = param(1.0, "WebSocket: a silent connection is dead after "
                                        "this long (s)")
    ws_catchup_seconds: float = param(15.0, "WebSocket: how long subscribers may take to "
                                      "reach the log's end after the faults (s)")
    protection_phase: bool = param(True, "run the storage-fault / circuit-breaker phase")
    storage_error_rate: float = param(1.0, "share of storage calls failing during the "
                                      "storage fault (0..1)")
    storage_delay_ms: float = param(100.0, "delay added to each storage call during the "
                                    "storage fault (ms)")
    storage_fault_seconds: float = param(2.5, "how long the storage fault is on")
    storage_recover_seconds: float = param(3.0, "clean time after the storage fault")
    breaker_window: int = param(10, "server: calls the breaker looks back over")
    breaker_threshold: int = param(3, "server: failures in the window that open the breaker")
    breaker_open_seconds: float = param(1.0, "server: how long the breaker stays open "
                                        "before a trial")
    breaker_half_open_calls: int = param(2, "server: successful trials that close the breaker")
    max_detect_seconds: float = param(1.0, "check: storage fault start -> breaker open "
                                      "within this (s)")
    max_recover_seconds: float = param(3.0, "check: storage fault cleared -> breaker closed "
                                       "within this (s)")
    rate_limit_phase: bool = param(True, "run the rate-limit phase on a second server")
    rate_limit: float = param(2.0, "that server's --rate-limit (requests/s per client)")
    rate_burst: float = param(3.0, "that server's --rate-burst")
    rate_limit_requests: int = param(12, "requests the greedy client sends back to back")

    def validate(self) -> None:
        require(bool(self.faults or self.protection_phase or self.rate_limit_phase
                     or self.schedule), "faults", list(self.faults),
                "at least one fault (or protection_phase / rate_limit_phase on)")
        require(all(self.faults), "faults", list(self.faults), "profile names, not ''")
        require(len(set(self.faults)) == len(self.faults), "faults", list(self.faults),
                "each fault once")
        for name in _POSITIVE:
            require(getattr(self, name) > 0, name, getattr(self, name), "a number > 0")
        for name in _NON_NEGATIVE:
            require(getattr(self, name) >= 0, name, getattr(self, name), "a number >= 0")
        for name, least in _AT_LEAST.items():
            require(getattr(self, name) >= least, name, getattr(self, name),
                    f"a whole number >= {least}")
        for name in ("update_share", "storage_error_rate"):
            require(0 <= getattr(self, name) <= 1, name, getattr(self, name),
                    "a number between 0 and 1")
        require(self.breaker_threshold <= self.breaker_window, "breaker_threshold",
                self.breaker_threshold, f"at most breaker_window ({self.breaker_window})")
        require(not self.faults or self.recovery_grace_seconds < self.recover_seconds,
                "recovery_grace_seconds", self.recovery_grace_seconds,
                f"shorter than recover_seconds ({self.recover_seconds:g}), or no operation is "
                "left to show the recovery")
        profiles = self.profiles()
        unknown = [name for name in self.faults if name not in profiles]
        require(not unknown, "faults", unknown,
                f"profile names of params/profiles.yaml or custom_profiles: "
                f"{', '.join(sorted(profiles))}")
        self._validate_schedule_targets()

    def _validate_schedule_targets(self) -> None:
        from syncbench.nemesis import parse_schedule

        for index, fault in enumerate(parse_schedule(self.schedule)):
            wanted = SERVER if fault.kind == "storage" else GROUP
            require(fault.target == wanted, "schedule", self.schedule[index],
                    f"window {index}: a {fault.kind} fault here targets {wanted!r}")

    def profiles(self) -> dict[str, NetworkProfile]:
        """params/profiles.yaml plus `custom_profiles` (which win on a shared name)."""
        profiles = load_profiles()
        for name, raw in self.custom_profiles.items():
            try:
                profiles[name] = parse_profile(name, raw, "custom_profiles")
            except ProfileError as exc:
                raise StudyParamError("custom_profiles", {name: raw}, str(exc)) from None
        return profiles

    @property
    def segment_seconds(self) -> float:
        """One network fault's stretch of the run: lead, fault, recovery."""
        return self.lead_seconds + self.fault_seconds + self.recover_seconds

    def retry_policy(self, seed: int, **changes: Any) -> RetryPolicy:
        """The clients' retry policy (jitter seeded by `seed`)."""
        options: dict[str, Any] = dict(max_attempts=self.max_attempts,
                                       base_delay=self.base_delay, max_delay=self.max_delay,
                                       deadline=self.retry_deadline, seed=seed)
        return RetryPolicy(**{**options, **changes})

    def server_options(self) -> tuple[str, ...]:
        """`tasksync serve` flags: the breaker's settings and the seeded bug."""
        options = ("--breaker-window", str(self.breaker_window),
                   "--breaker-threshold", str(self.breaker_threshold),
                   "--breaker-open-seconds", str(self.breaker_open_seconds),
                   "--breaker-half-open-calls", str(self.breaker_half_open_calls))
        return options + self.bug_options()

    def bug_options(self) -> tuple[str, ...]:
        return seeded_bug_options(self)

    def rate_server_options(self) -> tuple[str, ...]:
        """The rate-limit phase's server flags."""
        return ("--rate-limit", str(self.rate_limit), "--rate-burst", str(self.rate_burst),
                *self.bug_options())


__all__ = ["DEFAULT_CUSTOM_PROFILES", "DEFAULT_FAULTS", "GROUP", "SERVER", "ResilienceParams"]
