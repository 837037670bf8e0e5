"""Kernel restarts in a real browser (issue 13, item 3): JupyterLab 4 and Notebook 7 in Debian's Chromium.

A notebook submits a Local job and shows it and ``jobs``; the kernel restarts while the job runs. After the
Kernel menu's *Restart Kernel*, ``%load_ext GangaJupyter`` and ``jobs(<id>)`` bring the view back and it follows the
job to ``completed``, while the old views, whose kernel is gone, keep their last card without buttons and say they
stopped following; so do they after *Shut Down Kernel*, and in a notebook reopened from its saved widget state.
After *Restart Kernel and Run All Cells*, the submitting cell submits one new job (it asks for
one) and nothing else is submitted again. When the kernel is killed (SIGKILL, as the out-of-memory killer does) and
Jupyter restarts it by itself, the same two cells bring the view back and it follows the job. In no case does a
cell show "monitoring is off", a ``RegistryLockError``, a traceback or a stray log line.

Skipped when Chromium, Playwright or the front ends are missing, except under ``CI``, where that fails.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import nbformat
import pytest

from GangaJupyter.testlib.browser import chromium_page
from GangaJupyter.testlib.notebooks import execute, notebook
from test_browser import LAB, NOTEBOOK7, TOKEN, FrontEnd, live_view, require, require_browser, run_all_cells
from test_jobs_browser import Server

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

SCREENSHOT = Path(__file__).resolve().parents[4] / "docs" / "_static" / "restart-lab.png"
TIMEOUT_MS = 90_000
NAME = "across restarts"
NOTEBOOK = "restarts.ipynb"
CELLS = (
    "%load_ext GangaJupyter",
    (
        f"j = Job(name={NAME!r}, application=Executable(exe='/bin/sh', args=['-c', 'sleep 20; echo done']),"
        " backend=Local())\nj.submit()\nj"
    ),
    "jobs",
)
SUBMIT_CELL, JOBS_CELL = 1, 2

#: What no cell may show after a restart (searched in the outputs' whole text, folded parts included).
FORBIDDEN = re.compile(r"monitoring is off|RegistryLockError|Traceback|another Ganga session", re.IGNORECASE)
#: Stream and error outputs (JupyterLab renders tracebacks as stderr) and GangaJupyter's warning/error notices.
STRAY = ", ".join(
    f".jp-Notebook .jp-OutputArea-output{s}"
    for s in ("[data-mime-type='application/vnd.jupyter.stderr']", "[data-mime-type='application/vnd.jupyter.stdout']",
              " .gj-notice-warning", " .gj-notice-error")
)

# Every (cell, job, status) any job card in the page has shown, in order (cards are redrawn with innerHTML).
RECORD_STATUSES = """() => {
  window.gjSeen = [];
  const note = () => {
    document.querySelectorAll('.jp-Notebook .jp-Cell').forEach((cell, i) => {
      cell.querySelectorAll('.gj-job[data-fqid]').forEach((card) => {
        const badge = card.querySelector('.gj-status');
        const entry = [i, card.dataset.fqid, badge ? badge.textContent.trim() : '?'].join(' ');
        if (!window.gjSeen.includes(entry)) window.gjSeen.push(entry);
      });
    });
  };
  note();
  new MutationObserver(note).observe(document.body, { childList: true, subtree: true, characterData: true });
}"""


@pytest.fixture(params=[LAB, NOTEBOOK7], ids=lambda f: f.name)
def front_end(request: pytest.FixtureRequest) -> FrontEnd:
    require(request.param)
    return request.param


@pytest.fixture
def server(front_end: FrontEnd, tmp_path: Path) -> Iterator[Server]:
    """A Jupyter server for ``front_end`` on a throw-away Ganga home, with the notebook in its root."""
    started = Server(tmp_path, front_end.command)
    try:
        nbformat.write(notebook(*CELLS), started.root / NOTEBOOK)
        yield started
    finally:
        started.close()


@pytest.fixture
def page() -> Iterator[Page]:
    require_browser()
    with chromium_page(width=1200, height=1000, timeout_ms=TIMEOUT_MS) as page:
        yield page


def cells(page: Page) -> Locator:
    return page.locator(".jp-Notebook .jp-Cell")


def open_notebook(page: Page, server: Server, front_end: FrontEnd) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.url}{front_end.path.format(nb=NOTEBOOK)}?token={TOKEN}")
    expect(cells(page)).to_have_count(len(CELLS), timeout=TIMEOUT_MS)
    page.evaluate(RECORD_STATUSES)


def wait_idle(page: Page) -> None:
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=TIMEOUT_MS)


def restart_from_menu(page: Page, item: str) -> None:
    """Kernel > ``item`` (the same names in JupyterLab 4 and Notebook 7), and Restart in its dialog."""
    wait_idle(page)  # the cells have returned: the restart interrupts nothing the test asked for
    page.get_by_role("menuitem", name="Kernel", exact=True).click()
    label = re.compile(rf"^{re.escape(item)}$")  # the label alone: the item's name ends with its shortcut ("0, 0")
    page.locator(".lm-Menu .lm-Menu-itemLabel", has_text=label).click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    dialog.wait_for(state="detached", timeout=TIMEOUT_MS)


def run_cell(page: Page, index: int) -> None:
    """Click into cell ``index`` and run it with Shift+Enter, as a user does."""
    cell = cells(page).nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def append_and_run(page: Page, source: str) -> int:
    """A new cell at the end with ``source`` (typed, as a user does), run; returns its index."""
    from playwright.sync_api import expect

    index = cells(page).count()
    page.keyboard.press("Escape")  # command mode
    cells(page).last.locator(".jp-InputPrompt").click()
    page.keyboard.press("b")  # insert a cell below
    expect(cells(page)).to_have_count(index + 1)
    editor = cells(page).nth(index).locator(".jp-InputArea-editor")
    editor.click()
    page.keyboard.type(source)
    expect(editor).to_have_text(source)  # bracket auto-closing left it as typed
    page.keyboard.press("Shift+Enter")
    return index


def prompt(cell: Locator) -> Locator:
    return cell.locator(".jp-InputPrompt")


def seen(page: Page, cell: int, fqid: str) -> list[str]:
    """The statuses the card of job ``fqid`` in cell ``cell`` has shown, in order."""
    entries: list[str] = page.evaluate("window.gjSeen")
    return [e.split(" ", 2)[2] for e in entries if e.split(" ", 2)[:2] == [str(cell), fqid]]


def slice_ids(cell: Locator) -> list[str]:
    """The ids of the jobs that a ``jobs`` view lists."""
    return sorted(cell.locator(".gj-slice tr[data-fqid]").evaluate_all("rows => rows.map(r => r.dataset.fqid)"))


def assert_clean(page: Page) -> None:
    """No cell shows a lock error, "monitoring is off", a traceback or a stray log line."""
    outputs = page.locator(".jp-Notebook .jp-OutputArea")
    texts = [t or "" for t in outputs.evaluate_all("areas => areas.map(a => a.textContent)")]
    bad = [(i, m.group(0)) for i, t in enumerate(texts) for m in [FORBIDDEN.search(t)] if m]
    assert not bad, f"outputs show {bad}:\n" + "\n---\n".join(t[-1500:] for t in texts)
    stray = page.locator(STRAY)
    assert stray.count() == 0, f"{stray.count()} stray outputs: {stray.all_inner_texts()}"


def start_and_see_running(page: Page, server: Server, front_end: FrontEnd) -> str:
    """Open the notebook, run all, wait until the submitted job's view shows it running; returns its id."""
    from playwright.sync_api import expect

    open_notebook(page, server, front_end)
    run_all_cells(page)
    view = live_view(page, NAME)
    expect(view.locator(".gj-status-running")).to_be_visible(timeout=TIMEOUT_MS)
    fqid = view.locator(".gj-job").first.get_attribute("data-fqid")
    assert fqid is not None
    expect(cells(page).nth(JOBS_CELL).locator(".gj-slice tr[data-fqid]")).to_have_count(1, timeout=TIMEOUT_MS)
    return fqid


def kernel_pid(server: Server) -> int:
    """The pid of the notebook's kernel (the process started with its connection file)."""
    with urllib.request.urlopen(f"{server.url}/api/sessions?token={TOKEN}", timeout=10) as response:
        [session] = json.load(response)
    connection_file = f"kernel-{session['kernel']['id']}.json"
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if connection_file in (proc / "cmdline").read_bytes().decode(errors="replace"):
                return int(proc.name)
        except OSError:
            continue  # it ended while we looked
    raise AssertionError(f"no process has {connection_file} on its command line")


def assert_stopped_following(page: Page, fqid: str, why: str) -> None:
    """The views of the kernel that is gone (the job's and the ``jobs`` listing's) keep their card but have no
    buttons left, and say why they stopped following and how to follow the job again."""
    from playwright.sync_api import expect

    for index in (SUBMIT_CELL, JOBS_CELL):
        view = cells(page).nth(index).locator(".gj-live")
        expect(view, f"cell {index} has no widget view (it should have been live when the kernel went)").to_have_count(1)
        expect(view.locator(".gj-message"), f"the view in cell {index} does not say it stopped").to_contain_text(
            f"Stopped following: {why}", timeout=TIMEOUT_MS)
        kept = view.locator(".gj-actions button, .gj-actions input, button.gj-action-kill")  # a subjob card's Close stays
        expect(kept, f"the view in cell {index} kept the buttons of a kernel that is gone").to_have_count(0)
    job = cells(page).nth(SUBMIT_CELL).locator(".gj-live")
    expect(job.locator(f".gj-job[data-fqid='{fqid}']")).to_be_visible()  # its last card, not an empty box
    expect(job.locator(".gj-message")).to_contain_text(f"jobs({fqid})")


def bring_back_and_follow(page: Page, fqid: str) -> Locator:
    """After a restart: run only ``%load_ext`` and a new cell ``jobs(<fqid>)``. Its view must show the job with its
    name, still running, and follow it to completed; no cell may show an error. Returns the new cell."""
    from playwright.sync_api import expect

    wait_idle(page)
    run_cell(page, 0)
    expect(prompt(cells(page).first)).to_have_text(re.compile(r"\[1\]"), timeout=TIMEOUT_MS)  # in the new kernel
    index = append_and_run(page, f"jobs({fqid})")
    again = cells(page).nth(index)
    card = again.locator(f".gj-job[data-fqid='{fqid}']")
    expect(card).to_be_visible(timeout=TIMEOUT_MS)
    expect(card).to_contain_text(NAME)  # the job as it was submitted, name included
    expect(card.locator(".gj-status-completed")).to_be_visible(timeout=60_000)
    statuses = seen(page, index, fqid)
    assert statuses[0] == "running", f"the view came back showing {statuses} (the job should still have been running)"
    assert statuses[-1] == "completed", statuses
    assert_clean(page)
    return again


def test_restart_kernel_then_jobs_id_follows_the_running_job(front_end: FrontEnd, server: Server, page: Page) -> None:
    """Restart Kernel while the job runs; ``%load_ext`` and ``jobs(<id>)``: the view follows it to completed."""
    fqid = start_and_see_running(page, server, front_end)
    restart_from_menu(page, "Restart Kernel…")
    assert_stopped_following(page, fqid, "its kernel restarted")
    again = bring_back_and_follow(page, fqid)
    assert_stopped_following(page, fqid, "its kernel restarted")  # the new kernel's views leave the old ones alone
    if front_end is LAB:
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        again.scroll_into_view_if_needed()
        page.locator(".jp-NotebookPanel").first.screenshot(path=SCREENSHOT, animations="disabled")


# Notebook 7 shows the same dialog (JupyterLab's code): Lab alone keeps the file's time down.
@pytest.mark.parametrize("front_end", [LAB], ids=lambda f: f.name, indirect=True)
def test_a_killed_kernel_restarted_by_jupyter_follows_the_job(front_end: FrontEnd, server: Server, page: Page) -> None:
    """The kernel is killed (SIGKILL, as the out-of-memory killer does) while the job runs; Jupyter restarts it
    by itself; ``%load_ext`` and ``jobs(<id>)``: the view follows the job to completed, nothing says
    "monitoring is off" (the dead kernel's Ganga session must not count)."""
    from playwright.sync_api import expect

    fqid = start_and_see_running(page, server, front_end)
    os.kill(kernel_pid(server), signal.SIGKILL)
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("appears to have died", timeout=TIMEOUT_MS)  # "It will restart automatically."
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    assert_stopped_following(page, fqid, "its kernel restarted")
    bring_back_and_follow(page, fqid)


def test_restart_and_run_all_submits_once_and_follows(front_end: FrontEnd, server: Server, page: Page) -> None:
    """Restart Kernel and Run All Cells: the submitting cell submits exactly one new job, the views follow
    both jobs to completed, and no other job is submitted again."""
    from playwright.sync_api import expect

    first = start_and_see_running(page, server, front_end)
    before = slice_ids(cells(page).nth(JOBS_CELL))
    assert before == [first], before
    restart_from_menu(page, "Restart Kernel and Run All Cells…")

    submit = cells(page).nth(SUBMIT_CELL)
    card = submit.locator(".gj-job")
    new_id = re.compile(rf"^(?!{first}$)\d+$")
    expect(card.first).to_have_attribute("data-fqid", new_id, timeout=TIMEOUT_MS)  # the cell ran again: a new job
    second = card.first.get_attribute("data-fqid")
    assert second is not None
    expect(card.locator(".gj-status-completed")).to_be_visible(timeout=TIMEOUT_MS)
    statuses = seen(page, SUBMIT_CELL, second)
    assert "running" in statuses and statuses[-1] == "completed", statuses

    listing = cells(page).nth(JOBS_CELL)
    for fqid in (first, second):  # the listing of the new kernel follows both, the old kernel's job included
        expect(listing.locator(f"tr[data-fqid='{fqid}'] .gj-status-completed")).to_be_visible(timeout=TIMEOUT_MS)
    after = slice_ids(listing)
    assert len(after) == len(before) + 1 and set(before) < set(after), f"jobs before {before}, after {after}"
    expect(listing.locator(".gj-slice")).to_contain_text(f"{len(after)} jobs")
    assert_clean(page)


# The kernel's end and the saved widget state are front-end matters where Notebook 7 runs JupyterLab's code.
@pytest.mark.parametrize("front_end", [LAB], ids=lambda f: f.name, indirect=True)
def test_shut_down_kernel_the_views_say_they_stopped(front_end: FrontEnd, server: Server, page: Page) -> None:
    """Kernel > Shut Down Kernel while the job runs: the views keep their card, drop their buttons and say their
    kernel stopped (ipywidgets tells its models nothing then; the kernel connection's status does)."""
    fqid = start_and_see_running(page, server, front_end)
    wait_idle(page)
    page.get_by_role("menuitem", name="Kernel", exact=True).click()
    page.locator(".lm-Menu .lm-Menu-itemLabel", has_text=re.compile(r"^Shut Down Kernel$")).click()
    dialog = page.locator(".jp-Dialog")  # JupyterLab asks first where it is set to
    if dialog.count():
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    assert_stopped_following(page, fqid, "its kernel stopped")
    assert_clean(page)


@pytest.mark.parametrize("front_end", [LAB], ids=lambda f: f.name, indirect=True)
def test_a_reopened_notebook_s_saved_views_say_they_stopped(front_end: FrontEnd, server: Server, page: Page) -> None:
    """A notebook executed by nbclient (which saves widget state) while its job still runs, opened later in
    JupyterLab: its views, drawn from the saved state with no kernel behind them, say so and have no buttons."""
    executed = execute(notebook(*CELLS), server.env, server.root)
    html = "".join(o.get("data", {}).get("text/html", "") for o in executed.cells[SUBMIT_CELL].outputs)
    found = re.search(r'class="gangajupyter gj-job" data-fqid="(\d+)"', html)
    assert found, f"the submitting cell shows no job card: {html[:500]}"
    assert executed.metadata.get("widgets"), "nbclient saved no widget state (the view had settled?)"
    nbformat.write(executed, server.root / NOTEBOOK)
    # Trusted, as a notebook its user saved is: JupyterLab shows an untrusted one's static HTML, never its widgets.
    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(server.root / NOTEBOOK)], env=server.env, check=True,
                   capture_output=True)  # fmt: skip
    open_notebook(page, server, front_end)
    assert_stopped_following(page, found.group(1), "its kernel is gone")
