"""NotebookApp on the Local backend with Ganga's ``gpi`` fixture: real jobs, real kernels on the worker."""
import json
import os
import re
import subprocess
import sys
import venv

import nbformat
import pytest
from GangaCore.testlib.decorators import add_config
from GangaCore.testlib.monitoring import run_until_state

from GangaJupyter.Lib.Core.errors import ConfigurationError, NotebookCellError, NotFinishedError
from GangaJupyter.Lib.Worker import notebook_runner

RUNTIME = ("Configuration", "RUNTIME_PATH", "GangaJupyter")
FAST_LOCAL = ("PollThread", "Local", 1)


def finish(gpi, job, state="completed", timeout=120):
    gpi.enableMonitoring()  # off in the first bootstrap of a pytest process (Ganga pitfall)
    assert run_until_state(job, state, timeout=timeout, break_states=["killed", "removed"], sleep_period=0.2), job.status


def submit_and_wait(gpi, app, state="completed", **job_args):
    job = gpi.Job(application=app, backend=gpi.Local(), **job_args)
    job.submit()
    finish(gpi, job, state)
    return job


@add_config([RUNTIME, FAST_LOCAL])
def test_cells_run_on_the_worker_and_results_come_back(gpi):
    app = gpi.NotebookApp(
        cells=["import math", "area = math.pi * r**2\nprint('area', round(area, 3))", "'<b>shown as text</b>'"],
        parameters={"r": 2},
        outputs=["area"],
    )
    j = submit_and_wait(gpi, app)
    assert j.application.results() == {"area": pytest.approx(12.566, abs=1e-3)}
    executed = nbformat.read(j.application.executed_notebook(), as_version=4)
    assert executed.cells[0].source.startswith("# Parameters injected by GangaJupyter")
    html = j._repr_html_()
    assert "Executed notebook (3 cells)" in html
    assert "area 12.566" in html
    assert "&#39;&lt;b&gt;shown as text&lt;/b&gt;&#39;" in html  # a text/plain result stays escaped text
    report = json.load(open(os.path.join(j.outputdir, notebook_runner.REPORT)))
    assert report["state"] == "completed" and [c["cell"] for c in report["cells"] if c["cell"]] == [1, 2, 3]


@add_config([RUNTIME, FAST_LOCAL])
def test_a_failing_cell_fails_the_job_and_the_view_shows_it(gpi):
    app = gpi.NotebookApp(cells=["x = 1", "y = x / 0", "print('never')"], outputs=["x"])
    j = submit_and_wait(gpi, app, state="failed")
    html = j._repr_html_()
    assert "Cell 2 of 3 failed" in html and "ZeroDivisionError" in html
    assert 'data-cell="2"' in html and "y = x / 0" in html
    with pytest.raises(NotebookCellError, match="failed in cell 2 of 3: ZeroDivisionError") as raised:
        j.application.results()
    assert (raised.value.cell, raised.value.of, raised.value.ename, raised.value.job) == (2, 3, "ZeroDivisionError", j.fqid)
    assert "----> 1 y = x / 0" in raised.value.traceback


@add_config([RUNTIME, FAST_LOCAL])
def test_notebook_file_with_tags_and_a_parameters_cell(gpi, tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell
    nb.cells = [cell("n = 1"), cell("print('skipped')"), cell("total = n * 10\nprint('total', total)")]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.cells[2].metadata["tags"] = ["run"]
    path = tmp_path / "analysis.ipynb"
    nbformat.write(nb, path)
    j = submit_and_wait(gpi, gpi.NotebookApp(notebook=str(path), tags=["run"], parameters={"n": 7}, outputs=["total"]))
    assert j.application.results() == {"total": 70}  # the injected cell comes after the 'parameters' cell
    assert "skipped" not in open(j.application.executed_notebook()).read()


@add_config([RUNTIME, FAST_LOCAL])
def test_a_sweep_of_20_points_completes_with_merged_outputs(gpi):
    grid = {"a": [1, 2, 3, 4, 5], "b": [10, 20, 30, 40]}
    j = gpi.Job(
        application=gpi.NotebookApp(cells=["c = a * b"], outputs=["c"]),
        splitter=gpi.NotebookSweep(grid=grid),
        postprocessors=[gpi.NotebookMerger()],
        backend=gpi.Local(),
    )
    j.submit()
    assert len(j.subjobs) == 20
    finish(gpi, j, timeout=300)
    expected = [{"c": a * b} for a in grid["a"] for b in grid["b"]]
    assert j.application.results() == expected
    import pickle

    merged = pickle.load(open(os.path.join(j.outputdir, notebook_runner.OUTPUTS), "rb"))
    assert [pickle.loads(outputs) for outputs in merged] == expected  # the merger kept each subjob's bytes
    assert re.search(r'class="gj-progress"[^>]*title="20 completed"', j._repr_html_())


@add_config([RUNTIME, FAST_LOCAL])
def test_a_sweep_with_failed_points_returns_the_others_says_why_and_resubmit_completes_it(gpi, tmp_path, caplog):
    fixed = tmp_path / "fixed"  # the even points fail until it exists
    cell = f"import os\nif x % 2 == 0 and not os.path.exists({str(fixed)!r}):\n    raise ValueError(f'point {{x}} is broken')\ny = x * 10"
    j = gpi.Job(
        application=gpi.NotebookApp(cells=[cell], outputs=["y"]),
        splitter=gpi.NotebookSweep(grid={"x": [1, 2, 3, 4, 5, 6]}),
        backend=gpi.Local(),
    )
    j.submit()
    finish(gpi, j, state="failed", timeout=300)
    caplog.clear()
    results = j.application.results()
    assert results == [{"y": 10}, {"y": 30}, {"y": 50}]
    assert results.points == [(0, {"x": 1}), (2, {"x": 3}), (4, {"x": 5})]
    assert sorted(results.missing) == [1, 3, 5]
    assert "ValueError: point 4 is broken" in results.missing[3]
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "3 of 6 points have no outputs" in warning and "point 2 is broken" in warning and "j.resubmit()" in warning
    with pytest.raises(NotebookCellError, match="point 2 is broken"):
        j.application.results(strict=True)
    fixed.touch()
    j.resubmit()  # the failed points alone run again
    finish(gpi, j, timeout=300)
    assert [sj.info.submit_counter for sj in j.subjobs] == [1, 2, 1, 2, 1, 2]
    caplog.clear()
    results = j.application.results(strict=True)
    assert results == [{"y": x * 10} for x in range(1, 7)] and not results.missing
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


@add_config([RUNTIME, FAST_LOCAL])
def test_several_points_per_job_run_in_one_kernel_each_reported_on_its_own(gpi, tmp_path, caplog):
    """Issue 15: ``NotebookSweep(points_per_job=k)``: 7 points in 3 subjobs (3, 3, 1), each subjob's points one
    after another in one kernel, each in a fresh namespace; a failed point does not stop the others of its
    subjob, results() has every other point by its number, and resubmitting the failed subjob completes the set."""
    fixed = tmp_path / "fixed"  # point x=5 fails until it exists
    cells = [
        "import os\nleft = globals().get('y')",  # a previous point's variables are gone
        f"if x == 5 and not os.path.exists({str(fixed)!r}):\n    raise ValueError('point 5 is broken')\n"
        "y = x * 10\npid = os.getpid()",
    ]
    j = gpi.Job(
        application=gpi.NotebookApp(cells=cells, parameters={"x": 0, "scale": 1}, outputs=["y", "left", "pid"]),
        splitter=gpi.NotebookSweep(grid={"x": [1, 2, 3, 4, 5, 6, 7]}, points_per_job=3),
        backend=gpi.Local(),
    )
    j.submit()
    assert len(j.subjobs) == 3 and [len(sj.application.points) for sj in j.subjobs] == [3, 3, 1]
    finish(gpi, j, state="failed", timeout=300)
    assert [sj.status for sj in j.subjobs] == ["completed", "failed", "completed"]
    caplog.clear()
    results = j.application.results()
    assert [r["y"] for r in results] == [10, 20, 30, 40, 60, 70]
    assert all(r["left"] is None for r in results)
    assert len({r["pid"] for r in results[:3]}) == 1 and len({r["pid"] for r in results[3:5]}) == 1  # one kernel each
    assert results.points[4] == (5, {"x": 6, "scale": 1})  # numbered in the sweep, merged over parameters
    assert list(results.missing) == [4] and "point 2 of 3 (x=5)" in results.missing[4]
    assert "ValueError: point 5 is broken" in results.missing[4]
    assert "1 of 7 points have no outputs" in " ".join(r.getMessage() for r in caplog.records)
    with pytest.raises(NotebookCellError, match="point 5 is broken"):
        j.application.results(strict=True)
    assert "ValueError" in j.subjobs[1]._repr_html_()  # the failed point's cell, in the subjob's card
    fixed.touch()
    j.resubmit()
    finish(gpi, j, timeout=300)
    assert [r["y"] for r in j.application.results(strict=True)] == [10, 20, 30, 40, 50, 60, 70]


@add_config([RUNTIME])
def test_bad_input_is_refused_before_submission_with_a_clear_message(gpi, tmp_path):
    from GangaCore.Core.exceptions import GangaException

    cases = [
        (gpi.NotebookApp(cells=["x = 1", "def f(:\n    pass"]), r"cell 2, line 1: invalid syntax"),
        (gpi.NotebookApp(cells=["x = 1"], kernel="no-such-kernel"), r"no Jupyter kernel 'no-such-kernel'.*kernels: .*python3"),
        (gpi.NotebookApp(notebook=str(tmp_path / "missing.ipynb")), r"missing.ipynb' does not exist"),
        (gpi.NotebookApp(cells=["x = 1"], parameters={"when": object()}), r"JSON-serialisable"),
        (gpi.NotebookApp(cells=["x = 1"], parameters={"not a name": 1}), r"not a Python identifier"),
        (gpi.NotebookApp(), r"nothing to run"),
    ]
    for app, message in cases:
        j = gpi.Job(application=app, backend=gpi.Local())
        with pytest.raises(GangaException, match=message):
            j.submit()
        assert j.status == "new"  # nothing lost: the job is still there to fix and resubmit
    for per_job in (0, -2):
        j = gpi.Job(application=gpi.NotebookApp(cells=["y = x"]), splitter=gpi.NotebookSweep(grid={"x": [1, 2]}, points_per_job=per_job), backend=gpi.Local())
        with pytest.raises(GangaException, match=rf"points_per_job={per_job}; give how many points each subjob runs"):
            j.submit()
        assert j.status == "new"
    with pytest.raises(GangaException) as raised:
        gpi.NotebookApp(cells=["x = 1", 2])
    assert "List entry 2 for cells is invalid" in str(raised.value.__context__)
    j = gpi.Job(application=gpi.NotebookApp(cells=["x = 1"], outputs=["x"]), backend=gpi.Local())
    with pytest.raises(NotFinishedError, match=f"Job {j.id} is 'new': outputs exist once it has completed") as early:
        j.application.results()
    assert isinstance(early.value, GangaException) and not isinstance(early.value, ConfigurationError)
    j.application.outputs = []
    with pytest.raises(ConfigurationError, match="this job asked for no outputs"):
        j.application.results()


@add_config([RUNTIME, FAST_LOCAL])
def test_an_output_the_cells_never_define_fails_with_its_name(gpi):
    j = submit_and_wait(gpi, gpi.NotebookApp(cells=["x = 1"], outputs=["x", "nothere"]), state="failed")
    assert "never defined by the cells: nothere" in j._repr_html_()


@add_config([RUNTIME, FAST_LOCAL])
def test_a_worker_python_without_nbclient_fails_with_the_fix(gpi, tmp_path):
    bare = tmp_path / "bare"
    venv.create(bare, with_pip=False)
    j = submit_and_wait(gpi, gpi.NotebookApp(cells=["x = 1"], python=str(bare / "bin" / "python")), state="failed")
    html = j._repr_html_()
    assert "The notebook could not run" in html and "pip install nbclient ipykernel" in html


def test_the_runner_on_a_worker_without_the_kernel_names_the_kernels_it_has(tmp_path):
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), tmp_path / "nb.ipynb")
    (tmp_path / "job.json").write_text(json.dumps({"notebook": "nb.ipynb", "kernel": "julia-1.9", "timeout": 60}))
    done = subprocess.run(
        [sys.executable, notebook_runner.__file__, "job.json"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == notebook_runner.EXIT_ENVIRONMENT
    assert "no Jupyter kernel 'julia-1.9' on this worker" in done.stderr and "python3" in done.stderr
    report = json.loads((tmp_path / notebook_runner.REPORT).read_text())
    assert report["error"]["kind"] == "environment"


def test_a_point_that_times_out_costs_only_that_point(tmp_path):
    """The runner with three points: the second's cell outlives the timeout; the kernel is started afresh and
    the third completes. The outputs file has one entry per point (None for the failed one)."""
    import pickle

    cells = ["import time\nif x == 2:\n    time.sleep(30)\ny = x * 10"]
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), tmp_path / "nb.ipynb")
    spec = {"notebook": "nb.ipynb", "kernel": "python3", "timeout": 2, "outputs": ["y"], "points": [{"x": 1}, {"x": 2}, {"x": 3}]}
    (tmp_path / "job.json").write_text(json.dumps(spec))
    done = subprocess.run(
        [sys.executable, notebook_runner.__file__, "job.json"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == notebook_runner.EXIT_CELL_ERROR, done.stderr[-2000:]
    report = json.loads((tmp_path / notebook_runner.REPORT).read_text())
    assert [p["state"] for p in report["points"]] == ["completed", "failed", "completed"]
    assert report["points"][1]["error"]["ename"] == "CellTimeoutError" and report["error"]["point"] == 2
    stored = pickle.loads((tmp_path / notebook_runner.OUTPUTS).read_bytes())
    assert [pickle.loads(b) if b else None for b in stored] == [{"y": 10}, None, {"y": 30}]
    assert "point 2 of 3" in done.stderr
