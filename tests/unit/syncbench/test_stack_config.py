"""StackConfig's rules for the container target and its image."""

from __future__ import annotations

import pytest

from syncbench.stack_config import StackConfig, StackError


def test_the_container_target_takes_an_image_port_health_and_command() -> None:
    config = StackConfig(target="container", image="mine:1", image_port=8080,
                         image_health="/ready", image_command=("serve", "{port}"))
    assert config.image == "mine:1" and config.image_command == ("serve", "{port}")
    assert StackConfig(target="container", store="postgresql", replicas=2).replicas == 2
    assert StackConfig(target="container", fake_clock=True).runs_our_image
    assert StackConfig(target="container", image="syncbench/tasksync:abc").runs_our_image
    assert not StackConfig(target="container", image="mine:1").runs_our_image


@pytest.mark.parametrize(("fields", "message"), [
    ({"image": "mine:1"}, "image applies to target 'container' only"),
    ({"target": "url", "url": "http://127.0.0.1:1", "image_port": 80},
     "image_port applies to target 'container' only"),
    ({"image_health": "/ready"}, "image_health applies to target 'container' only"),
    ({"target": "container", "image_port": 70000}, "image_port must be 0"),
    ({"target": "container", "store": "postgresql", "replicas": 2, "image_port": 8080},
     "need a port each"),
    ({"target": "url", "url": "http://127.0.0.1:1", "fake_clock": True},
     "fake_clock needs a server this stack starts"),
    ({"target": "container", "image": "mine:1", "store": "postgresql"}, "runs its own command"),
    ({"target": "container", "image": "mine:1", "fake_clock": True}, "runs its own command"),
    ({"target": "container", "image_command": ("serve",), "store": "postgresql",
      "replicas": 2}, "runs its own command"),
    ({"target": "url", "url": "http://127.0.0.1:1", "store": "qdrant"},
     "targets embedded and container"),
    ({"target": "docker"}, "choose one of embedded, url, container"),
])
def test_bad_container_settings_are_refused_saying_what_to_change(fields: dict,
                                                                 message: str) -> None:
    with pytest.raises(StackError, match=message):
        StackConfig(**fields)
