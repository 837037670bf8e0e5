"""Live views in a real browser: JupyterLab 4 and Notebook 7 served by a real Jupyter server, driven by Chromium.

Needs ``playwright`` (the Python package only: the browser is Debian's ``/usr/bin/chromium``, never a download),
``jupyterlab`` and ``notebook``. Without them the test is skipped, except under ``CI``, where it fails.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import nbformat
import pytest

from GangaJupyter.testlib.browser import CHROMIUM, CHROMIUM_ARGS
from GangaJupyter.testlib.needs import unavailable
from GangaJupyter.testlib.notebooks import ganga_home, notebook

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

SCREENSHOTS = Path(__file__).resolve().parents[4] / "docs" / "_static" / "screenshots"
TIMEOUT_MS = 90_000
TOKEN = "gangajupyter-browser-test"

CELLS = (
    "%load_ext GangaJupyter",
    "split = Job(name='progress', application=Executable(exe='/bin/sh'), backend=Local(),"
    " splitter=ArgSplitter(args=[['-c', 'sleep 1'] for i in range(6)]))\nsplit.submit()\nsplit",
    "long = Job(name='to kill', application=Executable(exe='/bin/sh', args=['-c', 'sleep 300']), backend=Local())\n"
    "long.submit()\nlong",
)

# Every distinct title a progress bar has had in the page (cards are redrawn with innerHTML, so watch additions).
RECORD_PROGRESS_TITLES = """() => {
  window.gjTitles = [];
  const note = (node) => {
    if (!(node instanceof Element)) return;
    for (const bar of [node, ...node.querySelectorAll('.gj-progress')]) {
      const title = bar.matches('.gj-progress') && bar.getAttribute('title');
      if (title && !window.gjTitles.includes(title)) window.gjTitles.push(title);
    }
  };
  note(document.body);
  new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach(note)))
    .observe(document.body, { childList: true, subtree: true });
}"""


@dataclass(frozen=True)
class FrontEnd:
    """A Jupyter front end: the ``jupyter`` subcommand that serves it and its URL for a notebook."""

    name: str
    command: str
    package: str
    path: str


LAB = FrontEnd("lab", "lab", "jupyterlab", "/lab/tree/{nb}")
NOTEBOOK7 = FrontEnd("notebook7", "notebook", "notebook", "/notebooks/{nb}")


def require_package(name: str) -> None:
    """Skip (fail under ``CI``) when the Python package ``name`` (of the ``browser`` extra) is missing."""
    if importlib.util.find_spec(name) is None:
        unavailable(f"the Python package {name}", "pip install 'GangaJupyter[browser]' (tox -e py installs it)")


def require_browser() -> None:
    """Skip (fail under ``CI``) when Playwright or Chromium is missing: call it before starting a browser."""
    require_package("playwright")
    if not os.access(CHROMIUM, os.X_OK):
        unavailable("Chromium", f"none at {CHROMIUM}: apt-get install chromium, or set GANGAJUPYTER_CHROMIUM to its path")


def require(front_end: FrontEnd) -> None:
    """Skip (fail under ``CI``) when the browser, its driver or the front end is missing."""
    require_browser()
    require_package(front_end.package)


#: Ports above 1024 that Chromium refuses to load pages from (net::ERR_UNSAFE_PORT; Chromium's net/base/port_util.cc).
CHROMIUM_UNSAFE_PORTS = frozenset({1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667,
                                   6668, 6669, 6679, 6697, 10080})


def free_port() -> int:
    """A TCP port nobody listens on right now, and one Chromium agrees to load pages from."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in CHROMIUM_UNSAFE_PORTS:
            return port


def wait_for_server(url: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Poll the server's HTTP API until it answers; fail with its log if it exits or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the Jupyter server exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)  # nothing to wait on but the port
    pytest.fail(f"the Jupyter server did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def kill_leftovers(root: Path) -> None:
    """Kill processes still working inside ``root`` (kernels and job processes of a test that failed half-way)."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cwd = (proc / "cwd").resolve()
        except OSError:
            continue
        if cwd.is_relative_to(root) and int(proc.name) != os.getpid():
            try:
                os.kill(int(proc.name), signal.SIGKILL)
            except OSError:
                pass


@pytest.fixture(params=[LAB, NOTEBOOK7], ids=lambda f: f.name)
def front_end(request: pytest.FixtureRequest) -> FrontEnd:
    """The front end under test (checks first that it can run here)."""
    require(request.param)
    return request.param


@pytest.fixture
def server(front_end: FrontEnd, tmp_path: Path) -> Iterator[str]:
    """A Jupyter server for ``front_end`` whose kernels use a throw-away Ganga home; yields its base URL."""
    env = ganga_home(tmp_path / "home", runtime_path=False)
    settings = Path(env["HOME"]) / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))  # no news toast
    root = tmp_path / "notebooks"
    root.mkdir()
    nbformat.write(notebook(*CELLS), root / "live.ipynb")
    port = free_port()
    log = tmp_path / "server.log"
    command = [
        sys.executable, "-m", "jupyter", front_end.command, "--no-browser", "--ServerApp.open_browser=False",
        f"--port={port}", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", "--allow-root",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(url, proc, log)
        yield url
    finally:
        proc.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        kill_leftovers(tmp_path)


@pytest.fixture
def page(server: str) -> Iterator[Page]:
    """A page of a headless Chromium (Debian's, with the flags a machine without internet needs)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def live_view(page: Page, job_name: str) -> Locator:
    """The output that holds the view of the job called ``job_name`` (live, or static once it settled)."""
    return page.locator(".jp-OutputArea-output").filter(has=page.locator(".gj-job", has_text=job_name))


def run_all_cells(page: Page) -> None:
    """Run > Run All Cells, from the menu bar (the same in JupyterLab and Notebook 7), once the kernel is idle,
    until the first cell has started: on a cold start JupyterLab lists the cells before its kernel is ready, and a
    run asked for then is lost (its cells stay ``[ ]``)."""
    from playwright.sync_api import expect

    first_prompt = page.locator(".jp-CodeCell .jp-InputPrompt").first
    for _ in range(3):
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            expect(first_prompt).not_to_have_text(re.compile(r"^\[\s*\]:?$"), timeout=20_000)
            return
        except AssertionError:
            continue  # the run was lost: ask again
    raise AssertionError("Run All Cells never started the notebook's cells")


def screenshot(page: Page, view: Locator, name: str) -> None:
    """Save the notebook area, with ``view`` in sight, as ``docs/_static/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    view.evaluate("node => node.scrollIntoView({block: 'center'})")
    page.locator(".jp-NotebookPanel").first.screenshot(path=SCREENSHOTS / f"{name}.png", animations="disabled")


def test_live_views_follow_a_split_job_and_kill_a_job(front_end: FrontEnd, server: str, page: Page) -> None:
    """Run the notebook in the browser: the split job's view reaches 6 completed, the long job's Kill kills it."""
    from playwright.sync_api import expect

    page.goto(f"{server}{front_end.path.format(nb='live.ipynb')}?token={TOKEN}")
    expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(len(CELLS), timeout=TIMEOUT_MS)
    page.evaluate(RECORD_PROGRESS_TITLES)
    run_all_cells(page)

    split = live_view(page, "progress")
    expect(split.locator(".gj-status-completed")).to_be_visible(timeout=TIMEOUT_MS)
    expect(split.locator("div.gj-progress")).to_have_attribute("title", "6 completed", timeout=TIMEOUT_MS)
    titles: list[str] = page.evaluate("window.gjTitles")
    print(f"{front_end.name}: progress bar titles seen: {titles}")  # partial counts are likely, not guaranteed
    screenshot(page, split, f"{front_end.name}-progress")

    long = live_view(page, "to kill")
    expect(long.locator(".gj-status-running")).to_be_visible(timeout=TIMEOUT_MS)
    long.locator("button.gj-action-kill").click()
    expect(long.locator(".gj-status-killed")).to_be_visible(timeout=TIMEOUT_MS)
    expect(long.locator("button.gj-action")).to_have_count(0, timeout=TIMEOUT_MS)  # settled: the static card
    expect(long.locator(".gj-log")).to_contain_text("killing job")  # Ganga's messages, folded in the card
    screenshot(page, long, f"{front_end.name}-killed")
