"""Tests of the container target (marked `container`): real containers on the Docker engine
`make setup` starts (host network, images built here). Where no engine can be had (not root,
no apt-get) they are skipped with one line saying why; under CI, where set-up always starts
one, a missing engine or image is an error instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syncbench.containers.engine import engine_problem, reaper_off
from syncbench.containers.images import BASE_IMAGE, TOXIPROXY_IMAGE, missing_image, server_image


def _why_not() -> str:
    problem = engine_problem()
    if problem:
        return f"{problem} (make setup starts one as root)"
    missing = [tag for tag in (TOXIPROXY_IMAGE, BASE_IMAGE, server_image()) if missing_image(tag)]
    return (f"the Docker engine answers, but image(s) {', '.join(missing)} are not built "
            "(make containers)") if missing else ""


_WHY_NOT = _why_not()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.container)


@pytest.fixture(autouse=True)
def _container_engine() -> None:
    """Each container test needs the engine and the images: skipped, saying why, where
    there are none; under CI (set-up always starts an engine) an error instead."""
    if not _WHY_NOT:
        return
    if os.environ.get("CI"):
        pytest.fail(f"container tests cannot run under CI: {_WHY_NOT}; `make setup` starts a "
                    "Docker engine and builds the images (make containers)", pytrace=False)
    pytest.skip(f"container tests: {_WHY_NOT}")


reaper_off()
