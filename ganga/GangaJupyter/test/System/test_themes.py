"""JupyterLab's light and dark themes, in Debian's Chromium: every piece of text of the job views and of the Jobs
browser has a WCAG contrast ratio of at least 4.5 with what is behind it, and the Jobs browser's table fits a
1,300 px panel. Saves the screenshots the documentation shows.

Skipped when Chromium, Playwright or JupyterLab is missing, except under ``CI``, where that fails.
"""
from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import nbformat
import pytest

from GangaJupyter.testlib.browser import chromium_page
from GangaJupyter.testlib.kernel import KernelSession
from GangaJupyter.testlib.notebooks import notebook
from test_browser import LAB, TOKEN, require, run_all_cells
from test_jobs_browser import Server

if TYPE_CHECKING:
    from playwright.sync_api import Frame, Page

SCREENSHOTS = Path(__file__).resolve().parents[4] / "docs" / "_static" / "screenshots"
TIMEOUT_MS = 90_000
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
LONG_NAME = "reconstruction-of-the-full-2024-dataset-with-the-new-calibration-" * 3 + "end"
STDERR = "cannot open input.root"

SUBMIT = f"""
failed = Job(name='th-failed', application=Executable(exe='/bin/sh', args=['-c', 'echo "{STDERR}" >&2; exit 3']),
             backend=Local())
failed.submit()
done = Job(name='th-done', application=Executable(exe='/bin/echo', args=['hi']), backend=Local())
done.submit()
long = Job(name={LONG_NAME!r}, application=Executable(exe='/bin/sh'), backend=Local(),
           splitter=ArgSplitter(args=[['-c', 'exit 1'], ['-c', 'sleep 300'], ['-c', 'sleep 300']]))
long.submit()
"""

# [{text, where, ratio}] for every visible piece of text under the elements matching the selector, and the
# luminance of what is behind the first of them. Backgrounds are composited from the page's canvas down (with
# their alpha), and an element's opacity blends all it holds with what is under it, as the browser paints them.
CONTRAST = """(selector) => {
  const parse = (css) => {
    const m = /^rgba?\\(([^)]*)\\)$/.exec(css);
    if (!m) throw new Error("colour not in rgb(): " + css);
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, under, alpha) => ({ r: top.r * alpha + under.r * (1 - alpha),
    g: top.g * alpha + under.g * (1 - alpha), b: top.b * alpha + under.b * (1 - alpha) });
  const luminance = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const painted = (node) => {
    const chain = [];
    for (let n = node; n; n = n.parentElement) chain.unshift(n);
    let bg = { r: 255, g: 255, b: 255 };
    const groups = [];
    for (const n of chain) {
      const style = getComputedStyle(n);
      if (Number(style.opacity) < 1) groups.push({ under: bg, opacity: Number(style.opacity) });
      const c = parse(style.backgroundColor);
      bg = over(c, bg, c.a);
    }
    const text = parse(getComputedStyle(node).color);
    let fg = over(text, bg, text.a);
    for (const g of groups.reverse()) { fg = over(fg, g.under, g.opacity); bg = over(bg, g.under, g.opacity); }
    return { fg, bg };
  };
  const roots = [...document.querySelectorAll(selector)];
  const found = [];
  for (const root of roots) {
    for (const node of [root, ...root.querySelectorAll("*")]) {
      const own = [...node.childNodes].filter((c) => c.nodeType === 3).map((c) => c.textContent).join("").trim();
      if (!own || node.matches("option, script, style, :disabled") || !node.checkVisibility({ visibilityProperty: true })) continue;
      const { fg, bg } = painted(node);
      const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
      found.push({ text: own.slice(0, 40), where: node.tagName.toLowerCase() + "." + [...node.classList].join("."),
                   ratio: Math.round((hi + 0.05) / (lo + 0.05) * 100) / 100 });
    }
  }
  return { found, background: roots.length ? luminance(painted(roots[0]).bg) : null };
}"""


def assert_readable(where: Page | Frame, selector: str, theme: str, must_cover: list[tuple[str, str]]) -> list[dict]:
    """Every text under ``selector`` has contrast >= 4.5 (WCAG AA); the background is the theme's; the check saw
    each (CSS class, text) of ``must_cover``, so it cannot pass by finding nothing."""
    result: dict[str, Any] = where.evaluate(CONTRAST, selector)
    found = result["found"]
    assert found, f"no text under {selector}"
    dark = result["background"] < 0.1
    assert dark == (theme == "dark"), f"{theme} theme, but the background's luminance is {result['background']:.2f}"
    for cls, text in must_cover:
        assert any(cls in f["where"] and text in f["text"] for f in found), f"{cls} {text!r} not checked: {found}"
    low = [f for f in found if f["ratio"] < 4.5]
    assert not low, f"text below 4.5:1 in the {theme} theme: {json.dumps(low, indent=1)}"
    return found


def use_theme(server: Server, theme: str) -> None:
    """Make ``theme`` JupyterLab's theme (user settings, read when a page loads)."""
    settings = Path(server.env["HOME"]) / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    (settings / "themes.jupyterlab-settings").write_text(json.dumps({"theme": THEMES[theme]}))


def wait_for_theme(page: Page, theme: str) -> None:
    page.locator(f"body[data-jp-theme-name='{THEMES[theme]}']").wait_for(state="attached", timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, int]]]:
    """A JupyterLab server whose repository has a failed job, a completed one and a running split job with a long
    name and a failed subjob; a notebook ``themes.ipynb`` shows ``jobs`` and the failed job."""
    require(LAB)
    server = Server(tmp_path_factory.mktemp("themes"), "lab")
    try:
        kernel = KernelSession(server.env, str(server.root))
        try:
            assert kernel.run("%load_ext GangaJupyter", timeout=180)["status"] == "ok"
            assert kernel.run(SUBMIT, timeout=180)["status"] == "ok"
            ids = {name: kernel.run_value(f"{name}.id") for name in ("failed", "done", "long")}
            server.wait_status(ids["failed"], "failed")
            server.wait_status(ids["done"], "completed")
            server.wait_status(ids["long"], "running")
            deadline = time.monotonic() + 60
            while not dict(server.row(ids["long"])["subjob_counts"]).get("failed"):
                assert time.monotonic() < deadline, f"no failed subjob: {server.row(ids['long'])}"
                time.sleep(0.2)  # polling the API as the page's reader would
        finally:
            kernel.close(graceful=True)  # frees the gangadir for the notebook's kernel
        nbformat.write(notebook("%load_ext GangaJupyter", "jobs", f"jobs({ids['failed']})"), server.root / "themes.ipynb")
        yield server, ids
    finally:
        server.close()


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page(width=1300, height=900, timeout_ms=TIMEOUT_MS) as page:
        yield page


@pytest.mark.parametrize("theme", THEMES)
def test_job_views_are_readable_in_the_theme(lab: tuple[Server, dict[str, int]], theme: str, page: Page) -> None:
    """A job table and a failed job's view (badges, cells, stderr) in JupyterLab's light and dark themes."""
    from playwright.sync_api import expect

    server, ids = lab
    use_theme(server, theme)
    page.goto(f"{server.url}/lab/tree/themes.ipynb?token={TOKEN}")
    wait_for_theme(page, theme)
    expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(3, timeout=TIMEOUT_MS)
    run_all_cells(page)
    table = page.locator(".gj-slice")
    expect(table.locator(f"tr[data-fqid='{ids['long']}'] .gj-status-running")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator(f".gj-job[data-fqid='{ids['failed']}'] .gj-status-failed")).to_be_visible(timeout=TIMEOUT_MS)

    assert_readable(page, ".jp-OutputArea-output:has(.gangajupyter)", theme, [
        ("gj-status", "failed"), ("gj-status", "running"), ("gj-status", "completed"),
        ("td", "th-done"), ("th", "status"), ("strong", f"Job {ids['failed']}"), ("gj-stderr", STDERR),
    ])  # fmt: skip
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(f".gj-job[data-fqid='{ids['failed']}']").scroll_into_view_if_needed()
    page.locator(".jp-NotebookPanel").first.screenshot(path=SCREENSHOTS / f"lab-{theme}-job-views.png", animations="disabled")
    shut_down_kernels(server)  # the next theme's notebook starts (and loads GangaJupyter) in a new kernel


def shut_down_kernels(server: Server) -> None:
    with urllib.request.urlopen(f"{server.url}/api/kernels?token={TOKEN}", timeout=30) as response:
        kernels = json.loads(response.read())
    for kernel in kernels:
        request = urllib.request.Request(f"{server.url}/api/kernels/{kernel['id']}?token={TOKEN}", method="DELETE")
        urllib.request.urlopen(request, timeout=60).close()


@pytest.mark.parametrize("theme", THEMES)
def test_jobs_browser_is_readable_in_the_theme(lab: tuple[Server, dict[str, int]], theme: str, page: Page) -> None:
    """The Jobs browser in JupyterLab's iframe takes JupyterLab's theme: readable text, the theme's background."""
    from playwright.sync_api import expect

    server, ids = lab
    use_theme(server, theme)
    page.goto(f"{server.url}/lab?reset&token={TOKEN}")  # reset: the launcher, not the notebook of the test above
    wait_for_theme(page, theme)
    page.locator(".jp-LauncherCard", has_text="Ganga Jobs").click()
    frame = page.frame_locator("iframe[title='Ganga Jobs']")
    expect(frame.locator(f"tr.gj-row[data-id='{ids['long']}'] .gj-status-running")).to_be_visible(timeout=TIMEOUT_MS)
    expect(frame.locator("#gj-session")).not_to_be_empty()
    jobs_frame = page.frame(url=re.compile(r"/gangajupyter/jobs"))
    assert jobs_frame is not None
    assert_readable(jobs_frame, "body", theme, [
        ("gj-status", "failed"), ("gj-status", "running"), ("gj-chip", "failed"), ("td.gj-name", "th-done"),
        ("button.gj-action-kill", "Kill"), ("a.gj-outputdir", "Output"), ("span.gj-where", "/"),
    ])  # fmt: skip
    # The screenshot shows a 1,300 px panel (see the test below): a wider window, the file browser folded away.
    page.set_viewport_size({"width": 1400, "height": 700})
    page.get_by_role("tab", name="File Browser (Ctrl+Shift+F)").click()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"jobs-browser-lab-{theme}.png", animations="disabled")


def test_jobs_browser_table_fits_a_1300px_panel(lab: tuple[Server, dict[str, int]], page: Page) -> None:
    """At 1,300 px every row's actions are inside the page, nothing scrolls sideways, and a long name is cut with
    an ellipsis and given whole in its title."""
    from playwright.sync_api import expect

    server, ids = lab
    page.goto(f"{server.url}/gangajupyter/jobs?token={TOKEN}")
    long = page.locator(f"tr.gj-row[data-id='{ids['long']}']")
    expect(long.locator("button.gj-action-resubmit")).to_be_visible(timeout=TIMEOUT_MS)  # a failed subjob...
    expect(long.locator("button.gj-action-kill")).to_be_visible()  # ...of a running job: all five actions
    assert long.locator(".gj-actions button, .gj-actions a").count() == 5

    width = page.evaluate("document.documentElement.clientWidth")
    assert width == 1300
    actions = page.locator(".gj-actions button, .gj-actions a, .gj-actions span")
    for i in range(actions.count()):
        box = actions.nth(i).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (actions.nth(i).text_content(), box)
    sideways = page.evaluate(
        "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth,"
        " document.querySelector('#gj-jobs').getBoundingClientRect().right]"
    )
    assert sideways[0] <= sideways[1] and sideways[2] <= width, sideways

    name = long.locator("td.gj-name")
    expect(name).to_have_attribute("title", LONG_NAME)
    cut = name.evaluate("td => [td.scrollWidth > td.clientWidth, getComputedStyle(td).textOverflow]")
    assert cut == [True, "ellipsis"], cut
