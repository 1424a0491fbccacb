"""The images the container target runs, built here: no image registry is reachable.

    syncbench/toxiproxy:<version>     FROM scratch: a static (CGO_ENABLED=0) toxiproxy-server
                                      built with `go install` from the pinned tag
    syncbench/debian-python:bookworm-<packages hash>
                                      Debian's minbase with python3, venv and libfaketime
                                      (the clock fault), by debootstrap and `docker import`
    syncbench/tasksync:<source hash>  the tasksync server: the project's wheels built on this
                                      machine, installed in the image with --no-index (the
                                      build has no network)

Each is built once and kept: an image whose tag exists is not built again. The server's tag
is a hash of what goes into it (lib/tasksync, pyproject.toml and its Dockerfile), so a
change to the server makes a new image and the stack never runs stale code.
`python -m syncbench.containers build` (what `make containers` runs) builds what is missing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# what every image of ours carries; not the containers' label (containers inherit an
# image's labels, and the sweep must not take a build's own containers for leftovers)
IMAGE_LABEL = "syncbench.image"

REPO_ROOT = Path(__file__).resolve().parents[3]
TOXIPROXY_TAG = "v2.12.0"  # the Makefile's TOXIPROXY_TAG: the same pinned release
TOXIPROXY_IMAGE = f"syncbench/toxiproxy:{TOXIPROXY_TAG.removeprefix('v')}"
# libfaketime: the clock fault preloads it into the server, in a container as in a process
BASE_PACKAGES = ("python3", "python3-venv", "libfaketime")
BASE_IMAGE = ("syncbench/debian-python:bookworm-"
              + hashlib.sha256(",".join(BASE_PACKAGES).encode()).hexdigest()[:8])
FAKETIME_IN_IMAGE = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
SERVER_REPOSITORY = "syncbench/tasksync"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BASE_PYTHON = (3, 11)  # bookworm's python3: the wheels built here must suit it
SERVER_DATA = "/data"  # where the server container's database and port file live

SERVER_DOCKERFILE = f"""\
FROM {BASE_IMAGE}
COPY wheels /wheels
RUN python3 -m venv /opt/tasksync \\
 && /opt/tasksync/bin/pip install --no-index --no-cache-dir --find-links /wheels \\
      'syncbench[server]' \\
 && rm -rf /wheels
ENV PATH=/opt/tasksync/bin:/usr/sbin:/usr/bin:/sbin:/bin PYTHONUNBUFFERED=1
WORKDIR {SERVER_DATA}
ENTRYPOINT ["tasksync"]
CMD ["serve", "--host", "127.0.0.1", "--port", "8080", "--db", "{SERVER_DATA}/tasks.db"]
"""

TOXIPROXY_DOCKERFILE = """\
FROM scratch
COPY toxiproxy-server /toxiproxy-server
ENTRYPOINT ["/toxiproxy-server"]
"""


class ImageBuildFailed(RuntimeError):
    """An image could not be built; the message says which step and what to do."""


@dataclass(frozen=True)
class BuiltImage:
    """One image as the build left it."""

    tag: str
    size_mb: float
    seconds: float  # 0 when it was there already
    built: bool


def is_tasksync_image(image: str) -> bool:
    """Whether `image` is ours ("" means the one for this source): it runs `tasksync serve`
    with the stack's options; another image runs its own command."""
    return not image or image.startswith(f"{SERVER_REPOSITORY}:")


def server_image() -> str:
    """The tag of the server image for this source tree (what the stack runs by default)."""
    return f"{SERVER_REPOSITORY}:{server_source_hash()}"


@functools.cache  # once per process: a run keeps the image of the source it started with
def server_source_hash() -> str:
    """A hash of what goes into the server image: lib/tasksync, the project's dependencies
    (pyproject.toml's [project], not its tool settings) and the Dockerfile."""
    digest = hashlib.sha256(SERVER_DOCKERFILE.encode())
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    digest.update(json.dumps(project, sort_keys=True).encode())
    for path in sorted((REPO_ROOT / "lib" / "tasksync").rglob("*.py")):
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _size_mb(client: Any, tag: str) -> float:
    return round(client.images.get(tag).attrs["Size"] / 1e6, 1)


def _exists(client: Any, tag: str) -> bool:
    import docker

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def _run(args: list[str], what: str, **kwargs: Any) -> None:
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise ImageBuildFailed(f"{what} failed ({' '.join(args[:3])} ... exit "
                               f"{done.returncode}):\n{tail}")


def _docker_build(client: Any, context: Path, tag: str) -> None:
    import docker

    try:
        # network "none": nothing in a build may reach a network (all it needs is copied in)
        client.images.build(path=str(context), tag=tag, rm=True, forcerm=True,
                            network_mode="none", labels={IMAGE_LABEL: "1"})
    except docker.errors.BuildError as exc:
        log = "".join(str(line.get("stream", line.get("error", ""))) for line in exc.build_log)
        tail = "\n".join(log.strip().splitlines()[-15:])
        raise ImageBuildFailed(f"docker build of {tag} failed: {exc}\n{tail}") from exc


def build_toxiproxy(client: Any, workdir: Path) -> None:
    """FROM scratch with a static toxiproxy-server of the pinned tag (Go builds it)."""
    go = shutil.which("go")
    if go is None:
        raise ImageBuildFailed("Go is needed to build toxiproxy-server for its image; "
                               "install Go (the Makefile's toxiproxy target needs it too)")
    bin_dir = workdir / "bin"
    bin_dir.mkdir()
    env = {**os.environ, "CGO_ENABLED": "0", "GOBIN": str(bin_dir)}
    # stamped with its version: a plain `go install` leaves the server saying "git"
    stamp = f"-X github.com/Shopify/toxiproxy/v2.Version={TOXIPROXY_TAG.removeprefix('v')}"
    _run([go, "install", f"-ldflags={stamp}",
          f"github.com/Shopify/toxiproxy/v2/cmd/server@{TOXIPROXY_TAG}"],
         "building a static toxiproxy-server", env=env)
    context = workdir / "context"
    context.mkdir()
    shutil.move(bin_dir / "server", context / "toxiproxy-server")
    (context / "Dockerfile").write_text(TOXIPROXY_DOCKERFILE)
    _docker_build(client, context, TOXIPROXY_IMAGE)


def build_base(client: Any, workdir: Path) -> None:
    """Debian bookworm minbase with python3 and venv: debootstrap, then `docker import`."""
    debootstrap = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin")
    if debootstrap is None:
        raise ImageBuildFailed("debootstrap is needed for the Debian base image; "
                               "`apt-get install debootstrap` (make setup does, as root)")
    root = workdir / "rootfs"
    _run([debootstrap, "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", "bookworm",
          str(root), DEBIAN_MIRROR], "debootstrap of Debian bookworm")
    # what only the bootstrap needed: downloaded packages and package lists
    for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
        shutil.rmtree(root / leftover, ignore_errors=True)
    tarball = workdir / "rootfs.tar"
    _run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tarball), "."],
         "packing the Debian root")
    repository, tag = BASE_IMAGE.split(":")
    client.api.import_image_from_file(
        str(tarball), repository=repository, tag=tag,
        changes=[f'LABEL {IMAGE_LABEL}="1"',
                 "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                 'CMD ["python3"]'])
    if not _exists(client, BASE_IMAGE):
        raise ImageBuildFailed(f"docker import did not make {BASE_IMAGE}")


def build_server(client: Any, workdir: Path, tag: str) -> None:
    """The tasksync server on the base image, from wheels built here (no network inside)."""
    if sys.version_info[:2] != BASE_PYTHON:
        raise ImageBuildFailed(
            f"the server image runs Debian bookworm's Python {BASE_PYTHON[0]}.{BASE_PYTHON[1]}"
            f" and its wheels are built by this one ({sys.version.split()[0]}): run set-up "
            f"with a Python {BASE_PYTHON[0]}.{BASE_PYTHON[1]} (PYTHON=python3.11 make setup)")
    context = workdir / "context"
    wheels = context / "wheels"
    wheels.mkdir(parents=True)
    # a copy of the source, so the build leaves nothing in the checkout (build/, egg-info)
    source = workdir / "source"
    shutil.copytree(REPO_ROOT / "lib", source / "lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels),
          f"{source}[server]"], "building the project's wheels (pip wheel)")
    (context / "Dockerfile").write_text(SERVER_DOCKERFILE)
    _docker_build(client, context, tag)
    client.images.get(tag).tag(SERVER_REPOSITORY, "latest")


def build_images(client: Any, say: Callable[[str], None] = print) -> list[BuiltImage]:
    """Build every missing image (see module doc); what each is now."""
    steps: list[tuple[str, Callable[[Any, Path], None]]] = [
        (TOXIPROXY_IMAGE, build_toxiproxy),
        (BASE_IMAGE, build_base),
        (server_image(), lambda c, w: build_server(c, w, server_image())),
    ]
    out = []
    for tag, build in steps:
        if _exists(client, tag):
            out.append(BuiltImage(tag, _size_mb(client, tag), 0.0, built=False))
            say(f"image {tag}: there already ({out[-1].size_mb:g} MB)")
            continue
        say(f"image {tag}: building ...")
        began = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="syncbench-image-") as workdir:
            build(client, Path(workdir))
        out.append(BuiltImage(tag, _size_mb(client, tag), round(time.monotonic() - began, 1),
                              built=True))
        say(f"image {tag}: built in {out[-1].seconds:g} s ({out[-1].size_mb:g} MB)")
    return out


def missing_image(tag: str, base_url: str | None = None) -> str:
    """"" when the engine (at `base_url`, else the default) has image `tag`; else what to do.
    Asked before testcontainers starts one: it would try a registry for a missing image."""
    import docker

    client = (docker.DockerClient(base_url=base_url, timeout=30) if base_url
              else docker.from_env(timeout=30))
    try:
        return "" if _exists(client, tag) else missing_image_advice(tag)
    finally:
        client.close()


def missing_image_advice(tag: str) -> str:
    if tag.startswith(("syncbench/tasksync:", "syncbench/toxiproxy:")):
        return (f"the image {tag} is not on the Docker engine; build it with `make "
                "containers` (or `.venv/bin/python -m syncbench.containers build`), or name "
                "another with -p image=...")
    return (f"the image {tag} is not on the Docker engine (no registry is reachable here: "
            "`docker load` or `docker build` it first), or leave -p image empty for ours")


__all__ = ["BASE_IMAGE", "FAKETIME_IN_IMAGE", "IMAGE_LABEL", "SERVER_DATA", "SERVER_REPOSITORY",
           "TOXIPROXY_IMAGE", "TOXIPROXY_TAG",
           "BuiltImage", "ImageBuildFailed", "build_images", "is_tasksync_image", "missing_image",
           "missing_image_advice",
           "server_image", "server_source_hash"]
