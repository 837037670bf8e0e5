"""The pictures of a split job in a real browser, from the example notebook ``examples/pictures.ipynb`` (200
subjobs, five failures, a plot each). Run in JupyterLab, its live view redraws the timeline while the job runs
(the time axis grows with the clock, bars turn from running to completed), a slowest subjob's link shows that
subjob's card in the view, and the view settles into the static card. Saved, the notebook shows the same pictures
in the dark theme, readable; exported by nbconvert, the page shows them offline in Chromium with the network
blocked. Saves the screenshots ``docs/pictures.rst`` shows.

Skipped when Chromium, Playwright or JupyterLab is missing, except under ``CI``, where that fails.
"""
from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import nbformat
import pytest

from GangaJupyter.testlib.browser import chromium_page
from GangaJupyter.testlib.notebooks import export_html
from test_browser import LAB, TOKEN, require
from test_jobs_browser import Server
from test_themes import SCREENSHOTS, assert_readable, use_theme, wait_for_theme

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "pictures.ipynb"
RUN_MS = 300_000  # the example's 200 subjobs take about a minute on two cores
TIMEOUT_MS = 90_000
VIEWPORT = {"width": 1300, "height": 1250}  # the card's heading, its pictures and a row of its plots
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
COMPLETED = "#2a6fb0"  # Core.statuses.STATUS_COLOURS["completed"]: a finished bar

# Every distinct timeline a live view draws while its job runs (the widget redraws its card with innerHTML): the
# time its axis reaches, and how many of its bars are finished.
RECORD_LIVE_TIMELINES = f"""() => {{
  window.gjTimelines = [];
  const note = () => {{
    for (const svg of document.querySelectorAll('.gj-live .gj-timeline svg')) {{
      const labels = [...svg.querySelectorAll('text')].map((t) => t.textContent);
      if (!labels.includes('now')) continue;
      const seen = JSON.stringify({{ axis: labels.filter((t) => t.startsWith('+')).pop() || '',
                                    done: svg.querySelectorAll('rect[fill="{COMPLETED}"]').length }});
      if (!window.gjTimelines.includes(seen)) window.gjTimelines.push(seen);
    }}
  }};
  new MutationObserver(note).observe(document.body, {{ childList: true, subtree: true }});
}}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A JupyterLab server with a copy of the example notebook in its root and a Ganga home of its own."""
    require(LAB)
    if not EXAMPLE.exists():
        pytest.skip("needs the repository checkout (examples/)")
    server = Server(tmp_path_factory.mktemp("pictures"), "lab")
    try:
        shutil.copyfile(EXAMPLE, server.root / EXAMPLE.name)
        # Every cell in the page, in sight or not (by default JupyterLab skips rendering the cells out of sight).
        tracker = Path(server.env["HOME"]) / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
        tracker.mkdir(parents=True)
        (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
        yield server
    finally:
        server.close()


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page(timeout_ms=TIMEOUT_MS, **VIEWPORT) as page:
        yield page


def cell(page: Page, index: int) -> Locator:
    """A cell of the notebook: JupyterLab's page and nbconvert's both have ``.jp-Cell`` in ``.jp-Notebook``."""
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def run_from_menu(page: Page, item: str, first: Locator) -> None:
    """Run > ``item``, once the kernel is idle, until the prompt ``first`` shows the run started: on a cold
    start JupyterLab lists the cells before its kernel is ready, and a run asked for then is lost."""
    from playwright.sync_api import expect

    for _ in range(3):
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=TIMEOUT_MS)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=item, exact=True).click()
        try:
            expect(first).not_to_have_text(re.compile(r"^\[\s*\]:?$"), timeout=20_000)
            return
        except AssertionError:
            continue  # the run was lost: ask again
    raise AssertionError(f"Run > {item} never started the notebook's cells")


def assert_pictures(card: Locator) -> None:
    """The card shows every picture: the timeline, five charts (three histograms, failures by host and by error),
    the statistics, the slowest five and the subjobs' plots."""
    from playwright.sync_api import expect

    expect(card.locator(".gj-timeline svg")).to_be_visible(timeout=TIMEOUT_MS)
    expect(card.locator(".gj-histograms svg")).to_have_count(5)
    expect(card.locator(".gj-statistics")).to_be_visible()
    expect(card.locator(".gj-slowest")).to_contain_text("jobs(0).subjobs[")
    expect(card.locator(".gj-subjob-grid img").first).to_be_visible()


def screenshot(card: Locator, shown: Locator, name: str) -> None:
    """Save ``shown`` (the notebook, or the whole page) with the card at the top: its heading and progress bar,
    the timeline, the histograms, the statistics and the first plots."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    card.locator(".gj-job").first.evaluate("node => node.scrollIntoView({block: 'start'})")
    shown.screenshot(path=SCREENSHOTS / f"{name}.png", animations="disabled")


def saved(server: Server) -> nbformat.NotebookNode:
    """The notebook as JupyterLab saved it, once its last cell has the scan's pictures and no output is a widget."""
    path = server.root / EXAMPLE.name
    deadline = time.monotonic() + 60
    while True:
        nb = nbformat.read(path, as_version=4)
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        last = [o.data.get("text/html", "") for o in nb.cells[-1].get("outputs", []) if "data" in o]
        if last and "gj-timeline" in last[-1] and not any(WIDGET_VIEW in o.get("data", {}) for o in outputs):
            return nb
        assert time.monotonic() < deadline, f"{path} has no settled pictures in its last cell"
        time.sleep(0.5)  # JupyterLab writes the file when the server answers its save


def test_the_live_view_redraws_the_pictures_while_the_job_runs(lab: Server, page: Page) -> None:
    """The example in JupyterLab (light theme), run in two parts so that the kernel is idle while the scan runs:
    the view's timeline is redrawn as time passes and subjobs end, a slowest subjob's link shows its card in the
    view; then the view settles into a card with every picture, and the notebook is saved."""
    from playwright.sync_api import expect

    example = nbformat.read(EXAMPLE, as_version=4)
    submit = next(i for i, c in enumerate(example.cells) if "scan.submit()" in c.source)
    use_theme(lab, "light")
    page.goto(f"{lab.url}/lab/tree/{EXAMPLE.name}?token={TOKEN}")
    wait_for_theme(page, "light")
    expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(len(example.cells), timeout=TIMEOUT_MS)
    page.evaluate(RECORD_LIVE_TIMELINES)
    cell(page, submit + 1).locator(".jp-InputPrompt").click()
    run_from_menu(page, "Run All Above Selected Cell", page.locator(".jp-CodeCell .jp-InputPrompt").first)

    live = cell(page, submit).locator(".gj-live")
    expect(live.locator(".gj-timeline svg")).to_be_visible(timeout=RUN_MS)
    link = live.locator(".gj-slowest a").first
    expect(link).to_be_visible(timeout=RUN_MS)
    link.click()
    detail = live.locator(".gj-detail .gj-job")
    expect(detail).to_be_visible(timeout=TIMEOUT_MS)
    expect(detail).to_have_attribute("data-fqid", re.compile(r"^0\.\d+$"))
    expect(live.locator(".gj-message")).to_contain_text(re.compile(r"Subjob 0\.\d+ as it was at"))
    live.locator("button.gj-detail-close").click()
    expect(live.locator(".gj-detail")).to_be_hidden()

    cell(page, submit + 1).locator(".jp-InputPrompt").click()
    run_from_menu(page, "Run Selected Cell and All Below", cell(page, submit + 2).locator(".jp-InputPrompt"))
    final = cell(page, -1)  # the notebook's last cell: the settled card of the whole scan
    expect(final.locator(".gj-pictures")).to_be_visible(timeout=RUN_MS)
    expect(page.locator(".gj-live")).to_have_count(0, timeout=TIMEOUT_MS)  # the live view settled too
    timelines = [json.loads(t) for t in page.evaluate("window.gjTimelines")]
    print(f"{len(timelines)} live timelines drawn while the scan ran: {timelines[:2]} ... {timelines[-2:]}")
    assert len({t["axis"] for t in timelines}) >= 2, f"the time axis never grew: {timelines}"
    assert max(t["done"] for t in timelines) > min(t["done"] for t in timelines), f"no bar finished: {timelines}"
    for card in (cell(page, submit), final):
        assert_pictures(card)
        expect(card.locator(".gj-timeline text", has_text=re.compile("^now$"))).to_have_count(0)  # it has ended
    screenshot(final, page.locator(".jp-NotebookPanel").first, "pictures-light")

    page.keyboard.press("Control+s")
    saved(lab)


def test_the_saved_notebook_shows_the_pictures_in_the_dark_theme(lab: Server, page: Page) -> None:
    """The notebook saved by the test above, reopened in JupyterLab's dark theme: every picture, readable."""
    saved(lab)
    use_theme(lab, "dark")
    page.goto(f"{lab.url}/lab/tree/{EXAMPLE.name}?token={TOKEN}")
    wait_for_theme(page, "dark")
    final = cell(page, -1)
    assert_pictures(final)
    assert_readable(page, ".jp-OutputArea-output .gj-pictures", "dark", [("text", "wall time"), ("th", "median")])
    screenshot(final, page.locator(".jp-NotebookPanel").first, "pictures-dark")


#: What the exported example must show as text, offline: the job, its failures by error, the statistics.
ON_THE_PAGE = ["peak-scan", "200 subjobs", "cannot open the calibration file", "the fit did not converge",
               "failures by error", "median", "jobs(0).subjobs["]  # fmt: skip


def test_the_offline_export_shows_every_picture(lab: Server, tmp_path: Path) -> None:
    """nbconvert's HTML of the saved notebook, opened in Chromium offline with every request refused; the
    notebook has no error and nothing on stderr."""
    nb = saved(lab)
    for index, code in enumerate(nb.cells):
        for out in code.get("outputs", []):
            assert out.output_type != "error" and out.get("name") != "stderr", f"cell {index}: {out}"
    page_file = export_html(nb, tmp_path / "pictures.html")
    refused: list[str] = []
    with chromium_page(timeout_ms=TIMEOUT_MS, **VIEWPORT) as page:
        page.context.set_offline(True)
        page.route(re.compile(r"^https?://"), lambda route: (refused.append(route.request.url), route.abort()))
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        final = cell(page, -1)
        assert_pictures(final)
        text = page.inner_text("body")
        screenshot(final, page, "pictures-export")
    missing = [expected for expected in ON_THE_PAGE if expected not in text]
    assert not missing, f"not on the offline page: {missing}"
    print(f"requests refused offline: {refused}")
