"""Tests of the container target (marked `container`): real containers on the Docker engine
`make setup` starts (host network, images built here). Where no engine can be had (not root,
no apt-get) they are skipped with one line saying why; under CI, where set-up always starts
one, a missing engine or image is an error instead."""

from __future__ import annotations

import os

import pytest

from syncbench.containers.engine import engine_problem, reaper_off
from syncbench.containers.images import BASE_IMAGE, TOXIPROXY_IMAGE, server_image


def _why_not() -> str:
    problem = engine_problem()
    if problem:
        return problem
    import docker

    client = docker.from_env(timeout=30)
    try:
        missing = [tag for tag in (TOXIPROXY_IMAGE, BASE_IMAGE, server_image())
                   if not client.images.list(name=tag)]
    finally:
        client.close()
    return f"image(s) {', '.join(missing)} not built (make containers)" if missing else ""


_WHY_NOT = _why_not()
if _WHY_NOT and os.environ.get("CI"):
    raise RuntimeError(f"container tests cannot run under CI: {_WHY_NOT}; `make setup` "
                       "starts a Docker engine and builds the images (make containers)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason=f"no Docker engine for the container tests: {_WHY_NOT}")
    for item in items:
        if item.path.is_relative_to(os.path.dirname(__file__)):
            item.add_marker(pytest.mark.container)
            if _WHY_NOT:
                item.add_marker(skip)


reaper_off()
