"""GangaJupyter in a real Jupyter kernel (nbclient): activation, the quickstart notebook end to end, bad set-ups."""
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from GangaJupyter.testlib.notebooks import execute, ganga_home, notebook, outputs

REPO = Path(__file__).resolve().parents[4]
QUICKSTART = REPO / "examples" / "quickstart.ipynb"

STATE_PROBE = """
from GangaCore.Core import monitoring_component
from GangaCore.Utility.Runtime import allRuntimes
print('monitoring', monitoring_component.enabled)
print('runtime', sorted(r.name for r in allRuntimes.values()))
print('gpi', all(name in globals() for name in ('Job', 'jobs', 'Local', 'Executable', 'LocalFile')))
"""


def text(cell):
    return "".join(outputs(cell, "text/plain"))


def html(cell):
    return "".join(outputs(cell, "text/html"))


@pytest.mark.skipif(not QUICKSTART.exists(), reason="needs the repository checkout (examples/)")
def test_quickstart_notebook_end_to_end(tmp_path):
    nb = execute(nbformat.read(QUICKSTART, as_version=4), ganga_home(tmp_path, runtime_path=False), cwd=tmp_path)
    by_source = {cell.source.strip(): cell for cell in nb.cells if cell.cell_type == "code"}

    table = html(by_source["jobs"])
    assert 'class="gangajupyter gj-slice"' in table
    rows = re.findall(r'<tr data-fqid="(\d+)".*?gj-status-(\w+)', table, re.S)
    assert rows == [("0", "completed"), ("1", "failed"), ("2", "completed")]
    assert "fails on purpose" in table

    broken = html(by_source["broken"])
    assert "gj-status-failed" in broken and "missing input" in broken
    assert re.search(r"exit code</th>.*?<td[^>]*>2</td>", broken, re.S)

    split = html(by_source["split"])
    assert re.search(r'class="gj-progress"[^>]*title="4 completed"', split)
    subjobs = html(by_source["split.subjobs"])
    assert re.findall(r'<tr data-fqid="([\d.]+)"', subjobs) == ["2.0", "2.1", "2.2", "2.3"]
    assert "part.txt (7 B)" in html(by_source["split.subjobs[0].outputfiles"])


def test_load_ext_and_gangarc_runtime_path_end_in_the_same_state(tmp_path):
    by_ext = execute(notebook("%load_ext GangaJupyter", STATE_PROBE, "Job()"), ganga_home(tmp_path / "a", False), tmp_path)
    by_rc = execute(notebook("import ganga.ganga\nfrom ganga import *", STATE_PROBE, "Job()"), ganga_home(tmp_path / "b", True), tmp_path)
    for nb in (by_ext, by_rc):
        probe = text(nb.cells[1])
        assert "monitoring True" in probe
        assert "'GangaJupyter'" in probe
        assert "gpi True" in probe
        assert 'class="gangajupyter gj-job"' in html(nb.cells[2])


def test_load_ext_after_ganga_started_without_it_says_how_to_fix(tmp_path):
    nb = execute(
        notebook("import ganga.ganga", "%load_ext GangaJupyter", "jobs"), ganga_home(tmp_path, False), tmp_path
    )
    notice = text(nb.cells[1])
    assert "already started in this kernel without GangaJupyter" in notice
    assert "restart the kernel" in notice and "RUNTIME_PATH = GangaJupyter" in notice
    assert "Traceback" not in notice
    assert 'class="gangajupyter gj-slice"' in html(nb.cells[2])  # display still works


def test_a_ganga_session_without_gangajupyter_on_the_gangadir_is_explained_and_monitoring_stays_on(tmp_path):
    """The ``ganga`` command (no GangaJupyter) holds a job of the gangadir: the notebook monitors its own jobs, shows
    that one, and says who holds it and what to do (docs/shared-gangadir.rst)."""
    env = ganga_home(tmp_path, False)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import ganga.ganga, sys, time; from ganga import *\n"
         "j = Job(name='held', application=Executable(exe='/bin/sleep', args=['120']), backend=Local())\n"
         "j.submit(); print('ready', flush=True); time.sleep(120)"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        started = any(line.strip() == "ready" for line in iter(holder.stdout.readline, ""))
        assert started, "the other Ganga session did not start"
        nb = execute(notebook("%load_ext GangaJupyter", STATE_PROBE, "print([j.id for j in jobs])"), env, tmp_path)
    finally:
        holder.kill()
        holder.wait()
    notice = text(nb.cells[0])
    assert "Jobs 0 are held by a Ganga session that this notebook cannot reach" in notice, notice
    assert f"pid {holder.pid}" in notice and "Fix:" in notice
    assert "Multiple Ganga sessions" not in notice and "Traceback" not in notice
    assert "monitoring True" in text(nb.cells[1])
    assert text(nb.cells[2]).strip() == "[0]"  # its name is on disk only at its 30 s flush: plain Ganga


def test_python_c_with_runtime_path_loads_without_warning(tmp_path):
    env = ganga_home(tmp_path, True)
    started = time.time()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import ganga.ganga, ganga; from GangaCore.Utility.Runtime import allRuntimes; "
            "print('runtimes', [r.name for r in allRuntimes.values()]); "
            "print('html', ganga.jobs._repr_html_()[:40])",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "runtimes ['GangaJupyter']" in done.stdout
    assert '<div class="gangajupyter gj-slice"' in done.stdout
    assert "WARNING" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert time.time() - started < 60


def test_a_kernel_on_a_new_gangadir_registers_with_the_jobs_browser(tmp_path):
    from GangaJupyter.testlib.kernel import KernelSession

    session = KernelSession(ganga_home(tmp_path / "home", runtime_path=False), str(tmp_path))
    try:
        assert session.run("%load_ext GangaJupyter")["status"] == "ok"
        shown = "".join(str(m["content"]) for m in session.outputs)
        assert "cannot reach this session" not in shown
        sessions = tmp_path / "home" / "gangadir" / "jupyter" / "sessions"
        assert len(list(sessions.glob("*.events"))) == 1 and len(list(sessions.glob("*.json"))) == 1
    finally:
        session.close()
