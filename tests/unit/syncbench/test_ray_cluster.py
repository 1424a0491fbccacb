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
