"""What a sweep says when it cannot reach a Ray cluster (the failing `ray.init` stands in:
the message is ours, Ray's own connection is tested against a real local Ray elsewhere)."""

from __future__ import annotations

import pytest

from syncbench.params import ParameterError
from syncbench.ray_cluster import _init


class RefusingRay:
    def init(self, **options: object) -> None:
        raise ConnectionError("Failed to connect to Ray cluster at 127.0.0.1:6390")


def test_an_unreachable_cluster_names_the_address_and_the_token_mode_it_may_need(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a head started by `ray start` wants a token (Ray 2.59 on); a client sends it only in
    # token mode, and Ray puts the refusal in log lines, not in what it raises
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    with pytest.raises(ParameterError) as caught:
        _init(RefusingRay(), "127.0.0.1:6390", None, {})
    said = str(caught.value)
    assert "cannot start or reach the Ray cluster at 127.0.0.1:6390" in said
    assert "RAY_AUTH_MODE=token" in said and "~/.ray/auth_token" in said
    # already in token mode: the token is not what to check first
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    with pytest.raises(ParameterError) as caught:
        _init(RefusingRay(), "127.0.0.1:6390", None, {})
    assert "RAY_AUTH_MODE" not in str(caught.value)


class SlowStartingRay:
    """A local start that times out `failures` times (a loaded machine), then starts."""

    def __init__(self, failures: int, error: str = "The current node timed out during "
                                                   "startup.") -> None:
        self.failures, self.error = failures, error
        self.starts = self.shutdowns = 0

    def init(self, **options: object) -> None:
        self.starts += 1
        if self.starts <= self.failures:
            raise RuntimeError(self.error)

    def shutdown(self) -> None:
        self.shutdowns += 1


def test_a_local_ray_that_timed_out_starting_is_started_once_more() -> None:
    ray = SlowStartingRay(failures=1)
    _init(ray, None, 2, {})
    assert (ray.starts, ray.shutdowns) == (2, 1)
    # twice timed out: the second error is said; another error is said at once
    twice = SlowStartingRay(failures=2)
    with pytest.raises(ParameterError, match="cannot start or reach a local Ray: The "
                                             "current node timed out"):
        _init(twice, None, 2, {})
    assert twice.starts == 2
    other = SlowStartingRay(failures=1, error="object store too small")
    with pytest.raises(ParameterError, match="object store too small"):
        _init(other, None, 2, {})
    assert other.starts == 1
