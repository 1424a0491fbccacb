"""What `make containers` does: make sure a Docker engine answers, then build the images.

When no engine answers and we are root with apt-get (a fresh CI machine), Debian's docker.io
is installed and `dockerd` started in the background (its log in .tools/dockerd.log); it
keeps running after set-up, as an engine installed by hand would. debootstrap, which the
Debian base image needs, is installed the same way. Otherwise set-up says why there is no
engine and goes on: the container tests are then skipped with that reason (not in CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from syncbench.containers.engine import engine_problem
from syncbench.containers.images import REPO_ROOT

ENGINE_START_S = 90.0
DOCKERD_LOG = REPO_ROOT / ".tools" / "dockerd.log"


def _can_install() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def _apt_install(*packages: str, say: Callable[[str], None]) -> None:
    say(f"installing Debian's {' '.join(packages)} for the container target")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def ensure_engine(say: Callable[[str], None] = print) -> str:
    """"" once an engine answers; else why not (after starting one where we may)."""
    problem = engine_problem()
    if not problem:
        return ""
    if not _can_install():
        return f"{problem}; and set-up cannot start one (not root, or no apt-get)"
    missing = [package for package, command in (("docker.io", "dockerd"),
                                                ("debootstrap", "debootstrap"))
               if not (shutil.which(command) or shutil.which(command, path="/usr/sbin"))]
    if missing:
        _apt_install(*missing, say=say)
    dockerd = shutil.which("dockerd") or shutil.which("dockerd", path="/usr/sbin")
    if dockerd is None:
        return f"{problem}; docker.io did not install dockerd"
    DOCKERD_LOG.parent.mkdir(parents=True, exist_ok=True)
    running = _dockerd_running()
    daemon = None
    if running:
        say(f"dockerd (pid {running}) is starting; waiting for it")
    else:
        say(f"starting dockerd (log: {DOCKERD_LOG})")
        with DOCKERD_LOG.open("ab") as log:
            # its own session: it outlives set-up, as a service would
            daemon = subprocess.Popen([dockerd], stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + ENGINE_START_S
    while (problem := engine_problem()) and time.monotonic() < deadline:
        if daemon is not None and daemon.poll() is not None:
            problem = f"dockerd exited with {daemon.returncode}"
            break
        time.sleep(0.5)
    if problem:
        tail = "\n".join(DOCKERD_LOG.read_text(errors="replace").splitlines()[-10:])
        return f"dockerd did not answer ({problem}); its log ends:\n{tail}"
    return ""


def _dockerd_running() -> int | None:
    """The pid of a dockerd already running here (its pid file), if any."""
    try:
        pid = int(Path("/var/run/docker.pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def ensure_debootstrap(say: Callable[[str], None] = print) -> None:
    if shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin"):
        return
    if _can_install():
        _apt_install("debootstrap", say=say)


__all__ = ["DOCKERD_LOG", "ensure_debootstrap", "ensure_engine"]
