"""GangaJupyter's errors and the worker's report: WorkerReport read from reports the real runner writes (it runs
here on tiny notebooks, about a second each), broken reports read as none, NotebookCellError built from a report,
and every error GangaJupyter raises on purpose under GangaJupyterError."""
from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from GangaJupyter.Lib.Core import errors, worker_report
from GangaJupyter.Lib.Core.errors import GangaJupyterError, NotebookCellError
from GangaJupyter.Lib.Core.worker_report import CellRun, WorkerFailure, WorkerReport
from GangaJupyter.Lib.Worker import notebook_runner

LIB = Path(errors.__file__).resolve().parents[1]


def _start_runner(folder: Path, cells: list[str], **spec) -> subprocess.Popen:
    folder.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), folder / "nb.ipynb")
    (folder / "job.json").write_text(json.dumps({"notebook": "nb.ipynb", "kernel": "python3", "timeout": 60, **spec}))
    return subprocess.Popen(
        [sys.executable, notebook_runner.__file__, "job.json"], cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """The runner's report files of four runs (side by side: each waits mostly for its kernel)."""
    base = tmp_path_factory.mktemp("runs")
    runs = {
        "cell": _start_runner(base / "cell", ["x = 1", "y = x / 0", "print('never')"]),
        "outputs": _start_runner(base / "outputs", ["x = 1"], outputs=["x", "nothere"]),
        "completed": _start_runner(base / "completed", ["x = 1", "print(x)"], outputs=["x"]),
        "environment": _start_runner(base / "environment", ["x = 1"], kernel="julia-1.9"),
    }
    for name, process in runs.items():
        _, stderr = process.communicate(timeout=120)
        expected = {"completed": 0, "environment": notebook_runner.EXIT_ENVIRONMENT}.get(name, notebook_runner.EXIT_CELL_ERROR)
        assert process.returncode == expected, stderr
    return {name: base / name / notebook_runner.REPORT for name in runs}


def test_the_worker_kernel_talks_over_unix_sockets_that_go_with_the_run(tmp_path, monkeypatch):
    """Kernels of jobs started together on one node raced for one TCP port; Unix sockets in a folder of the
    run's own cannot, and the kernel's "running over TCP without encryption" warning is gone with TCP."""
    sockets = Path(tempfile.mkdtemp(prefix="gj-test-", dir="/tmp"))  # short: pytest's tmp_path can be too long
    monkeypatch.setenv("TMPDIR", str(sockets))
    cell = "from ipykernel.kernelapp import IPKernelApp\nprint(IPKernelApp.instance().transport, IPKernelApp.instance().ip)"
    run = _start_runner(tmp_path / "run", [cell])
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, stderr
    executed = nbformat.read(tmp_path / "run" / notebook_runner.EXECUTED, as_version=4)
    transport, ip = executed.cells[0].outputs[0]["text"].split()
    assert transport == "ipc" and ip.startswith(str(sockets) + "/gj-kernel-")
    assert b"TCP" not in stderr, stderr
    assert not list(sockets.iterdir()), "the sockets' folder outlived the run"
    sockets.rmdir()


def test_a_temporary_folder_too_long_for_unix_sockets_gives_way_to_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / ("x" * 90)))
    (tmp_path / ("x" * 90)).mkdir()
    tempfile.tempdir = None  # read TMPDIR again
    try:
        folder = notebook_runner.kernel_sockets_folder()
    finally:
        tempfile.tempdir = None
    assert folder.startswith("/tmp/gj-kernel-") and len(folder) <= 80
    os.rmdir(folder)


# ---------------------------------------------------------------- WorkerReport from the real runner
def test_a_failing_cell_reads_as_its_number_source_and_traceback(reports):
    report = WorkerReport.read(str(reports["cell"]))
    assert report is not None and report.state == "failed" and report.python == sys.executable
    assert [(c.cell, c.role, c.status) for c in report.cells] == [(1, "", "ok"), (2, "", "error")]
    assert all(c.seconds is not None and c.seconds >= 0 for c in report.cells)
    assert report.started and report.seconds and report.kernel_requested is not None
    failure = report.failure
    assert (failure.kind, failure.cell, failure.of, failure.role) == ("cell", 2, 3, "")
    assert (failure.source, failure.ename, failure.evalue) == ("y = x / 0", "ZeroDivisionError", "division by zero")
    assert "----> 1 y = x / 0" in failure.traceback and "\x1b[" not in failure.traceback
    assert report.describe() == "It failed in cell 2 of 3: ZeroDivisionError: division by zero"


def test_a_failing_cell_becomes_one_notebook_cell_error(reports):
    error = WorkerReport.read(str(reports["cell"])).cell_error()
    assert type(error) is NotebookCellError
    assert (error.cell, error.of, error.ename, error.evalue, error.role) == (2, 3, "ZeroDivisionError", "division by zero", "")
    assert "ZeroDivisionError: division by zero" in error.traceback
    assert str(error) == "The notebook failed in cell 2 of 3: ZeroDivisionError: division by zero"
    for_job = WorkerReport.read(str(reports["cell"])).cell_error("4.1")
    assert str(for_job) == "Job 4.1 failed in cell 2 of 3: ZeroDivisionError: division by zero"


def test_a_failing_injected_step_is_named_by_its_role(reports):
    report = WorkerReport.read(str(reports["outputs"]))
    assert (report.failure.cell, report.failure.role, report.failure.ename) == (None, "outputs", "NameError")
    assert report.describe() == "It failed in GangaJupyter's outputs step: NameError: output variable(s) never defined by the cells: nothere"
    error = report.cell_error("3")
    assert error.cell is None and error.role == "outputs" and error.where == "GangaJupyter's outputs step"
    assert str(error).startswith("Job 3 failed in GangaJupyter's outputs step: NameError: output variable(s)")


def test_a_completed_run_has_no_failure(reports):
    report = WorkerReport.read(str(reports["completed"]))
    assert report.state == "completed" and report.failure is None
    assert [c.cell for c in report.cells if c.cell] == [1, 2] and [c.role for c in report.cells if not c.cell] == ["outputs"]
    assert report.describe() == "" and report.cell_error() is None


def test_a_worker_that_cannot_run_notebooks_says_so_and_is_no_cell_error(reports):
    report = WorkerReport.read(str(reports["environment"]))
    assert report.failure.kind == "environment" and report.failure.cell is None
    assert report.describe().startswith("there is no Jupyter kernel 'julia-1.9' on this worker (kernels here: ")
    assert report.cell_error() is None


# ---------------------------------------------------------------- reports that are not reports
@pytest.mark.parametrize(
    "content",
    ["[1, 2]", '{"error": "boom"}', '{"error": [1]}', "\x00\xff", "9" * 100_000, "[" * 100_000, "", '{"state": '],
    ids=["list", "string error", "list error", "binary", "huge number", "deep nesting", "empty", "cut short"],
)
def test_a_malformed_report_reads_as_none(tmp_path, content):
    path = tmp_path / notebook_runner.REPORT
    path.write_text(content, errors="surrogateescape")
    assert WorkerReport.read(str(path)) is None


def test_a_missing_or_oversized_report_reads_as_none(tmp_path):
    assert WorkerReport.read(str(tmp_path / "absent.json")) is None
    assert WorkerReport.read(str(tmp_path)) is None  # a folder where the file should be
    path = tmp_path / notebook_runner.REPORT
    path.write_text(json.dumps({"state": "failed", "error": {"kind": "runner", "message": "x" * worker_report.MAX_REPORT_BYTES}}))
    assert WorkerReport.read(str(path)) is None


def test_fields_of_the_wrong_type_read_as_unknown(tmp_path):
    path = tmp_path / notebook_runner.REPORT
    path.write_text(json.dumps({
        "state": 3, "python": None, "started": "soon", "seconds": True,
        "cells": [1, "x", {"cell": "2", "role": None, "status": "ok", "seconds": "fast"}, {"cell": 3, "seconds": 0.5}],
        "error": {"kind": "cell", "cell": True, "of": 2.5, "ename": ["Bad"], "evalue": None},
    }))
    report = WorkerReport.read(str(path))
    assert (report.state, report.python, report.started, report.seconds) == ("3", "", None, None)
    assert report.cells == (CellRun(None, "", "ok", None), CellRun(3, "", "", 0.5))
    assert report.failure == WorkerFailure(kind="cell", ename="['Bad']")
    assert report.describe() == "It failed in GangaJupyter's own step: ['Bad']: "
    assert WorkerReport.parse({"error": {}}).failure is None  # an empty error is no failure
    assert WorkerReport.parse({"error": {"kind": "cell", "cell": 3}}).describe() == "It failed in cell 3 of ?: : "


# ---------------------------------------------------------------- the errors
def test_a_notebook_cell_error_keeps_its_fields_through_pickle():
    error = NotebookCellError(5, 9, "KeyError", "'energy'", "Traceback ...", "", "12")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is NotebookCellError and str(copy) == str(error) == "Job 12 failed in cell 5 of 9: KeyError: 'energy'"
    assert (copy.cell, copy.of, copy.ename, copy.evalue, copy.traceback, copy.role, copy.job) == (
        5, 9, "KeyError", "'energy'", "Traceback ...", "", "12"
    )


def test_notebookapp_errors_are_ganga_errors_and_gangajupyter_errors():
    from GangaCore.Core.exceptions import ApplicationConfigurationError, GangaException

    from GangaJupyter.Lib.NotebookApp import errors as app_errors

    assert issubclass(app_errors.NotebookAppError, ApplicationConfigurationError)
    assert issubclass(app_errors.NotebookAppError, errors.ConfigurationError)
    for ganga_form, ours in [
        (app_errors.NotebookAppNotFinishedError, errors.NotFinishedError),
        (app_errors.NotebookAppCellError, errors.NotebookCellError),
        (app_errors.NotebookAppFileError, errors.WorkerFileError),
    ]:
        assert issubclass(ganga_form, GangaException) and issubclass(ganga_form, ours)
    error = WorkerReport.parse({"error": {"kind": "cell", "cell": 2, "of": 3, "ename": "E", "evalue": "v"}}).cell_error(
        "0", app_errors.NotebookAppCellError
    )
    assert isinstance(error, NotebookCellError) and isinstance(error, GangaException)
    assert str(error) == "NotebookAppCellError: Job 0 failed in cell 2 of 3: E: v"  # Ganga's form names the class
    assert pickle.loads(pickle.dumps(error)).cell == 2


def test_configuration_errors_are_not_not_finished_errors():
    from GangaJupyter.Lib.Core.location import LocationError
    from GangaJupyter.Lib.Kernel.magics import MagicInputError
    from GangaJupyter.Lib.NotebookApp.errors import NotebookAppError

    for cls in (LocationError, MagicInputError, NotebookAppError):
        assert issubclass(cls, errors.ConfigurationError) and not issubclass(cls, errors.NotFinishedError)
    assert not issubclass(errors.NotFinishedError, errors.ConfigurationError)


def _modules_defining_exceptions() -> list[str]:
    """Modules of Lib/ with a class deriving from something named ``...Error`` or ``...Exception`` (the worker's
    runner is left out: it runs alone on the worker, and raises nothing of its own)."""
    names = []
    for path in sorted(LIB.rglob("*.py")):
        if "Worker" in path.parts:
            continue
        for node in ast.parse(path.read_text()).body:
            bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in getattr(node, "bases", [])]
            if isinstance(node, ast.ClassDef) and any(b.endswith(("Error", "Exception")) for b in bases):
                names.append("GangaJupyter.Lib." + ".".join(path.relative_to(LIB).with_suffix("").parts))
                break
    return names


def test_every_error_gangajupyter_raises_on_purpose_is_a_gangajupyter_error():
    modules = _modules_defining_exceptions()
    assert "GangaJupyter.Lib.Core.errors" in modules and "GangaJupyter.Lib.NotebookApp.errors" in modules
    strays = []
    for name in modules:
        for cls_name, cls in vars(importlib.import_module(name)).items():
            if (
                inspect.isclass(cls) and issubclass(cls, Exception) and not issubclass(cls, Warning)
                and cls.__module__ == name and not cls_name.startswith("_")  # private: caught where it is raised
                and not issubclass(cls, GangaJupyterError)
            ):
                strays.append(f"{name}.{cls_name}")
    assert not strays, f"derive these from a GangaJupyterError (Core/errors.py): {strays}"


def test_the_points_of_a_report_read_as_each_ones_end_and_bad_entries_as_unknown():
    report = WorkerReport.parse({
        "state": "failed",
        "points": [
            {"state": "completed", "seconds": 0.5},
            {"state": "failed", "error": {"kind": "cell", "cell": 2, "of": 2, "ename": "ValueError", "evalue": "no"}},
            "not a point",
            {"state": ["odd"], "seconds": "slow", "error": "not an error"},
        ],
    })
    assert report is not None and [p.state for p in report.points][:2] == ["completed", "failed"]
    assert len(report.points) == 3 and report.points[2].state != "completed"  # a point of unknown end did not complete
    assert report.points[0].seconds == 0.5 and report.points[2].seconds is None and report.points[2].failure is None
    error = worker_report.cell_error(report.points[1].failure, "0.1 point 2 of 3 (x=5)", NotebookCellError)
    assert str(error) == "Job 0.1 point 2 of 3 (x=5) failed in cell 2 of 2: ValueError: no"
    assert WorkerReport.parse({"state": "running", "points": "many"}).points == ()


def test_a_running_job_of_several_points_says_which_point_it_is_on():
    from GangaJupyter.Lib.Display.records import NotebookSection
    from GangaJupyter.Lib.Display.render import environment

    template = environment().from_string('{% from "_notebook.html.j2" import notebook_section %}{{ notebook_section(n) }}')
    one = template.render(n=NotebookSection({"state": "running", "cell": 2, "of": 3}, None, "", [], False))
    assert "Running cell 2 of 3</div>" in one
    several = {"state": "running", "cell": 1, "of": 3, "point": 4, "points": "<b>25</b>"}
    assert "Running cell 1 of 3, point 4 of &lt;b&gt;25&lt;/b&gt;</div>" in template.render(n=NotebookSection(several, None, "", [], False))
