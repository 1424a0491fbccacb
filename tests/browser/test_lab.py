"""`make lab` as a user meets it, in a real headless browser (Playwright driving Debian's
chromium): the server starts (as root too), a study opens on the `syncbench` kernel and runs,
its verdict and an interactive chart show, and no tracked file changed."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium")

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser"), pytest.mark.timeout(600),
              pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium "
                                 "(make setup installs it)")]


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[str]:
    """`make lab`'s server on 127.0.0.1 (copies in tmp_path); its URL with the token."""
    port, token = free_port(), secrets.token_hex(16)
    log = (tmp_path / "lab.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "syncbench.lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "SYNCBENCH_LAB_DIR": str(tmp_path / "lab")})

    def answering() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/status",
                             params={"token": token}, timeout=2).status_code == 200
        except httpx.HTTPError:
            return process.poll() is not None  # it died: stop waiting, the assert says so

    try:
        wait_until(answering, timeout=90, interval=0.2, message="the Lab server to answer")
        assert process.poll() is None, (tmp_path / "lab.log").read_text()
        yield f"http://127.0.0.1:{port}/lab/tree/example.ipynb?token={token}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # Jupyter shuts its kernels down on SIGTERM
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_a_study_runs_in_lab_shows_its_verdict_and_an_interactive_chart(
        lab: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    before, tracked = git_status(), (ROOT / "notebooks" / "example.ipynb").read_bytes()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(lab)
            # the kernel is the project's, and idle before we run anything
            expect(page.locator(".jp-Toolbar-kernelName").first).to_contain_text(
                "syncbench", timeout=120_000)
            expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
                   .first).to_be_attached(timeout=120_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            verdict = page.locator(".jp-OutputArea-output h3", has_text="example:")
            expect(verdict).to_contain_text("PASS", timeout=300_000)
            # drawn by plotly.js in the page (Lab's plotly renderer), not an image
            chart = page.locator(".jp-RenderedPlotly.js-plotly-plot").first
            chart.scroll_into_view_if_needed(timeout=60_000)
            expect(chart).to_be_visible(timeout=60_000)
            # interactive at once: plotly's own hover layer and mode bar, not an image
            expect(chart.locator(".modebar-container")).to_be_attached()
            assert page.locator(".jp-OutputArea-output img[src^='data:image/png']").count() == 0
        finally:
            browser.close()
    assert (tmp_path / "lab" / "example.results.json").is_file()  # written beside the copy
    assert (ROOT / "notebooks" / "example.ipynb").read_bytes() == tracked
    assert git_status() == before
