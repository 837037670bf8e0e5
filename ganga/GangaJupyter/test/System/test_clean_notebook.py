"""What a user sees in an executed notebook: no Ganga log lines or stray warnings in the cells, each job's messages
in its view, and job views that show in every renderer (the exported HTML opened offline, with no widget
renderer to fetch)."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from GangaJupyter.testlib.kernel import KernelSession
from GangaJupyter.testlib.notebooks import execute, export_html, ganga_home

REPO = Path(__file__).resolve().parents[4]
EXAMPLES = [REPO / "examples" / "quickstart.ipynb", REPO / "examples" / "notebookapp.ipynb"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
GANGA_LINE = re.compile(r"^\W*(?:\x1b\[[0-9;]*m)?(?:INFO|WARNING|ERROR|DEBUG)\s", re.M)


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict[str, nbformat.NotebookNode]:
    if not all(path.exists() for path in EXAMPLES):
        pytest.skip("needs the repository checkout (examples/)")
    done = {}
    for path in EXAMPLES:
        home = tmp_path_factory.mktemp(path.stem)
        done[path.stem] = execute(nbformat.read(path, as_version=4), ganga_home(home, runtime_path=False), cwd=path.parent)
    return done


@pytest.mark.parametrize("name", [p.stem for p in EXAMPLES])
def test_example_notebooks_have_no_log_lines_warnings_or_widget_holes(executed, name):
    nb = executed[name]
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            where = f"{name} cell {index} ({cell.source.splitlines()[0]!r})"
            assert out.output_type != "error", f"{where}: {out.ename}: {out.evalue}"
            if out.output_type == "stream":
                assert out.name != "stderr", f"{where} wrote to stderr: {out.text[:500]!r}"
                assert not GANGA_LINE.search(out.text), f"{where} has Ganga's log lines: {out.text[:500]!r}"
            else:  # every job view has settled: static HTML and text, which every renderer shows
                assert WIDGET_VIEW not in out.data, f"{where}: {sorted(out.data)}"


def test_a_jobs_own_messages_are_in_its_view(executed):
    cells = {cell.source.strip(): cell for cell in executed["quickstart"].cells if cell.cell_type == "code"}
    [split] = [o.data["text/html"] for o in cells["split"].outputs if o.output_type == "display_data"]
    assert "Ganga's messages" in split and "submitting job 2.3 to Local backend" in split


def test_papermill_runs_the_quickstart_to_the_same_static_views(tmp_path, monkeypatch):
    import papermill

    for name, value in ganga_home(tmp_path / "home", runtime_path=False).items():
        monkeypatch.setenv(name, value)  # papermill starts the kernel with this process's environment
    out = tmp_path / "quickstart.ipynb"
    papermill.execute_notebook(str(EXAMPLES[0]), str(out), kernel_name="python3", cwd=str(EXAMPLES[0].parent), progress_bar=False)
    outputs = [o for cell in nbformat.read(out, as_version=4).cells for o in cell.get("outputs", [])]
    assert [o for o in outputs if o.output_type == "display_data"], "no job views"
    assert all(WIDGET_VIEW not in o.get("data", {}) and o.output_type != "stream" for o in outputs), outputs


#: What each exported example must show as text, offline: every job table, status and result.
ON_THE_PAGE = {
    "quickstart": ["3 jobs", "hello", "broken", "split", "fails on purpose", "completed", "failed", "4 subjobs",
                   "missing input", "2.3"],
    "notebookapp": ["area", "28.27", "grid", "20 subjobs", "bad", "failed", "KeyError"],
}  # fmt: skip


@pytest.mark.parametrize("name", [p.stem for p in EXAMPLES])
def test_the_exported_examples_show_every_job_offline_in_chromium(executed, name, tmp_path):
    from test_browser import require_browser

    require_browser()
    from GangaJupyter.testlib.browser import chromium_page

    page_file = export_html(executed[name], tmp_path / f"{name}.html")
    refused: list[str] = []
    with chromium_page() as page:
        page.context.set_offline(True)
        page.route(re.compile(r"^https?://"), lambda route: (refused.append(route.request.url), route.abort()))
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        text = page.inner_text("body")
    missing = [expected for expected in ON_THE_PAGE[name] if expected not in text]
    assert not missing, f"not on the offline page of {name}: {missing}"
    print(f"{name}: {len(text)} characters of text offline; requests refused: {refused}")


def cell_outputs(kernel: KernelSession, code: str) -> list[dict]:
    """The output messages that arrived while ``code`` ran."""
    before = len(kernel.outputs)
    reply = kernel.run(code)
    assert reply["status"] == "ok", reply
    return kernel.outputs[before:]


def test_warnings_show_once_grouped_in_the_cell_that_caused_them(kernel):
    outs = cell_outputs(
        kernel,
        "import logging\nlog = logging.getLogger('GangaCore.GPIDev.Lib.Job')\n"
        "for _ in range(3):\n    log.warning('disk nearly full')\nlog.error('job 7 could not be killed')\nlog.info('routine')",
    )
    assert not [m for m in outs if m["msg_type"] == "stream"], outs
    shown = [m["content"]["data"] for m in outs if m["msg_type"] in ("display_data", "update_display_data")]
    assert len([m for m in outs if m["msg_type"] == "display_data"]) == 1  # one notice, updated as more came
    final = shown[-1]
    assert "disk nearly full (x3)" in final["text/plain"] and "job 7 could not be killed" in final["text/plain"]
    assert "routine" not in final["text/plain"] and "&times;3" in final["text/html"]
    later = cell_outputs(kernel, "1 + 1")  # the next cell starts clean
    assert not [m for m in later if m["msg_type"] in ("stream", "display_data")]


def test_lines_from_other_threads_never_reach_a_cell_and_ganga_log_shows_them(kernel):
    kernel.run(
        "import logging, threading\n"
        "t = threading.Thread(target=lambda: [logging.getLogger('GangaCore.Core').warning('job 4 problem from a thread'),"
        " logging.getLogger('somelibrary.worker').warning('library noise')])\nt.start(); t.join()"
    )
    kernel.pump(0.5)
    later = cell_outputs(kernel, "import time; time.sleep(0.5)")
    streams = [m for m in kernel.outputs if m["msg_type"] == "stream"]
    assert not streams and not [m for m in later if m["msg_type"] == "display_data"], streams
    log = cell_outputs(kernel, "%ganga_log")
    [shown] = [m["content"]["data"] for m in log if m["msg_type"] == "display_data"]
    assert "job 4 problem from a thread" in shown["text/plain"] and "library noise" in shown["text/plain"]
    [job4] = [m["content"]["data"] for m in cell_outputs(kernel, "%ganga_log 4") if m["msg_type"] == "display_data"]
    assert "job 4 problem" in job4["text/plain"] and "library" not in job4["text/plain"]
    [bad] = [m["content"]["data"] for m in cell_outputs(kernel, "%ganga_log four") if m["msg_type"] == "display_data"]
    assert "not a job id" in bad["text/plain"]


def test_the_users_own_logging_still_prints_in_the_cell(kernel):
    outs = cell_outputs(kernel, "import logging\nlogging.getLogger('analysis').warning('cut removed everything')")
    assert "cut removed everything" in "".join(m["content"].get("text", "") for m in outs if m["msg_type"] == "stream")


def test_one_option_brings_back_gangas_own_output(tmp_path):
    env = ganga_home(tmp_path / "home", runtime_path=False, extra="[Jupyter]\nganga_log_in_cells = True\n")
    session = KernelSession(env, str(tmp_path))
    try:
        session.run("%load_ext GangaJupyter")
        outs = cell_outputs(session, "j = Job(application=Executable(exe='true'), backend=Local())\nj.submit()")
        printed = "".join(m["content"].get("text", "") for m in outs if m["msg_type"] == "stream")
        assert "submitting job 0" in printed
    finally:
        session.close()
