"""What the performance study measures, how often, the targets it checks and its baseline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from syncbench.profiles import load_profiles
from syncbench.study import StudyParams, param, require, seeded_bug_options

REPO_ROOT = Path(__file__).resolve().parents[4]
DEFAULT_BASELINE = REPO_ROOT / "params" / "baselines" / "performance.json"
# The server takes at most this many items in one batch sync.
MAX_BATCH = 20_000
# The client group every load client belongs to: one Toxiproxy proxy, one network condition.
LOAD = "load"

_AT_LEAST_ONE = ("repeats", "tasks_per_run", "slow_tasks_per_run", "fanout_events",
                 "noop_samples", "sustained_workers", "create_target_tasks",
                 "create_target_workers", "batch_target_size")
_POSITIVE_SECONDS = ("sustained_s", "rss_interval_s", "create_target_s", "batch_target_s",
                     "phase_timeout_s")


@dataclass(frozen=True)
class PerformanceParams(StudyParams):
    """Scenarios (creation, batch sync, fan-out, sustained load) per network profile."""

    profiles: tuple[str, ...] = param(("lan", "wan"), "network profiles (params/profiles.yaml),"
                                      " one phase each; must include target_profile")
    repeats: int = param(3, "repeats of every measurement (median and min..max are reported)")
    workers: tuple[int, ...] = param((1, 10), "concurrent workers for task creation")
    tasks_per_run: int = param(1000, "tasks each creation repeat makes on target_profile")
    slow_tasks_per_run: int = param(50, "tasks each creation repeat makes on the other profiles")
    batch_sizes: tuple[int, ...] = param((100, 1000, 10000), "items per batch sync")
    subscribers: tuple[int, ...] = param((10, 100, 500), "WebSocket subscribers per fan-out run")
    fanout_events: int = param(20, "events written per fan-out run")
    fanout_interval_s: float = param(0.1, "pause between fan-out writes")
    fanout_actors: int = param(0, "Ray actors the fan-out's subscribers are spread over (0: "
                                  "the study's own process); each actor's clock offset is "
                                  "measured and recorded")
    load_actors: int = param(0, "Ray actors the creation and sustained load's workers are "
                                "spread over (0: the study's own process); their operations "
                                "merge into the run's history, each actor's clock measured")
    ray_address: str = param("", "the Ray cluster for fanout_actors and load_actors (empty: "
                                 "RAY_ADDRESS, else a local Ray on this machine)")
    noop_samples: int = param(15, "sequential noops per latency reference")
    sustained_s: float = param(10.0, "length of the sustained write load (per profile)")
    sustained_workers: int = param(4, "workers of the sustained load")
    rss_interval_s: float = param(0.25, "seconds between RSS samples of the server")
    create_target_tasks: int = param(1000, "check: this many tasks ...")
    create_target_workers: int = param(10, "... by this many workers ...")
    create_target_s: float = param(30.0, "... in under this many seconds (on target_profile)")
    batch_target_size: int = param(1000, "check: a batch of this many items ...")
    batch_target_s: float = param(5.0, "... syncs in under this many seconds (on target_profile)")
    target_profile: str = param("lan", "profile the two targets are checked on")
    regression_ratio: float = param(1.5, "check: fail when a ratio-to-noop is this many times "
                                         "its baseline")
    baseline_path: str = param("", "stored baseline, relative to the repo (empty: "
                                   "params/baselines/performance.json)")
    deployments: list[str] = param(["sqlite", "postgresql", "postgresql x2", "postgresql x3",
                                    "qdrant"],
                                   "deployments compared in the same run, each a fresh stack: "
                                   "'sqlite' (the baseline, first), 'postgresql xN' (N "
                                   "replicas on one database) and 'qdrant' (one server; "
                                   "where its Qdrant comes from: syncbench.qdrant); [] skips "
                                   "the comparison")
    deployment_s: float = param(3.0, "seconds of closed-loop creates per deployment and repeat")
    deployment_workers: int = param(12, "workers of the deployment comparison, dealt over "
                                        "the replicas")
    deployment_batch_items: int = param(1000, "items of one batch sync per deployment and "
                                              "repeat, timed (0: none)")
    deployment_events: int = param(100, "events written for the same- and cross-replica "
                                        "delivery latency (deployments with replicas)")
    phase_timeout_s: float = param(120.0, "deadline of every phase and request")
    compare_direct: bool = param(True, "also measure noop direct vs through Toxiproxy "
                                       "(no toxics)")
    save_baseline: bool = param(False, "write this run's figures as the new stored baseline "
                                       "(when every other check passed)")

    study_name = "performance"

    def validate(self) -> None:
        known = load_profiles()
        require(bool(self.profiles), "profiles", self.profiles,
                "a non-empty list of profile names")
        unknown = [p for p in self.profiles if p not in known]
        require(not unknown, "profiles", self.profiles,
                f"profiles of params/profiles.yaml (unknown: {unknown}; known: {sorted(known)})")
        require(not any(known[p].outage for p in self.profiles), "profiles", self.profiles,
                "profiles that carry load (an outage profile cannot), e.g. lan, wan")
        require(len(set(self.profiles)) == len(self.profiles), "profiles", self.profiles,
                "each profile once")
        for name in ("workers", "batch_sizes", "subscribers"):
            values = getattr(self, name)
            require(bool(values) and all(v >= 1 for v in values), name, values,
                    "a non-empty list of integers >= 1")
            require(len(set(values)) == len(values), name, values, "each value once")
        require(max(self.batch_sizes) <= MAX_BATCH, "batch_sizes", self.batch_sizes,
                f"at most {MAX_BATCH} items per batch (the server's limit)")
        for name in _AT_LEAST_ONE:
            require(getattr(self, name) >= 1, name, getattr(self, name), "an integer >= 1")
        for name in _POSITIVE_SECONDS:
            require(getattr(self, name) > 0, name, getattr(self, name), "seconds > 0")
        require(self.fanout_interval_s >= 0, "fanout_interval_s", self.fanout_interval_s,
                "seconds >= 0")
        require(0 <= self.fanout_actors <= 256, "fanout_actors", self.fanout_actors,
                "0 (subscribers in the study's process) to 256 Ray actors")
        require(0 <= self.load_actors <= 256, "load_actors", self.load_actors,
                "0 (workers in the study's process) to 256 Ray actors")
        require(self.regression_ratio >= 1, "regression_ratio", self.regression_ratio,
                "a factor >= 1")
        require(self.target_profile in self.profiles, "target_profile", self.target_profile,
                f"one of profiles {list(self.profiles)} (the targets are checked on it)")
        require(self.create_target_workers in self.workers, "create_target_workers",
                self.create_target_workers,
                f"one of workers {list(self.workers)} (the creation target is checked on it)")
        self._validate_deployments()
        require(not (self.save_baseline and self.seeded_bug), "save_baseline",
                self.save_baseline, "false when a seeded_bug is on (a baseline of a broken "
                "server would hide regressions)")

    def _validate_deployments(self) -> None:
        from syncbench.studies.performance.deployments import BASELINE, parse_deployment

        for deployment in self.deployments:
            try:
                parse_deployment(deployment)
            except ValueError as exc:
                require(False, "deployments", self.deployments, str(exc))
        require(not self.deployments or self.deployments[0] == BASELINE, "deployments",
                self.deployments, f"'{BASELINE}' first: every ratio is to it")
        require(len(set(self.deployments)) == len(self.deployments), "deployments",
                self.deployments, "each deployment once")
        require(self.deployment_s >= 0.5, "deployment_s", self.deployment_s, "seconds >= 0.5")
        require(0 <= self.deployment_batch_items <= 10_000, "deployment_batch_items",
                self.deployment_batch_items, "0 to 10000 (a batch's item limit)")
        require(self.deployment_workers >= 1 and self.deployment_events >= 1,
                "deployment_workers", self.deployment_workers,
                "an integer >= 1 (and deployment_events >= 1)")

    def tasks_for(self, profile: str) -> int:
        """Tasks each creation repeat makes on `profile`: fewer on the slower profiles, whose
        closed loop is paced by round trips (1 worker on wan: ~12 creates/s)."""
        return self.tasks_per_run if profile == self.target_profile else self.slow_tasks_per_run

    @property
    def baseline_file(self) -> Path:
        """The stored baseline: `baseline_path` (relative to the repository) or the default."""
        if not self.baseline_path:
            return DEFAULT_BASELINE
        path = Path(self.baseline_path)
        return path if path.is_absolute() else REPO_ROOT / path

    def server_options(self) -> tuple[str, ...]:
        # The per-client token bucket stays in the middleware chain but is switched off:
        # the study measures the server's capacity, not the limiter's configured rate.
        return ("--rate-limit", "0", *seeded_bug_options(self))


__all__ = ["DEFAULT_BASELINE", "LOAD", "MAX_BATCH", "REPO_ROOT", "PerformanceParams"]
