"""NotebookApp: notebook cells (or a notebook file) as the payload of a Ganga job."""
from __future__ import annotations

import os
import pickle
import shutil
from typing import TYPE_CHECKING, Any

from GangaCore.GPIDev.Adapters.IPrepareApp import IPrepareApp
from GangaCore.GPIDev.Lib.File import ShareDir
from GangaCore.GPIDev.Schema import Schema, SimpleItem, Version
from GangaCore.Utility.logging import getLogger

from .. import settings
from ..Worker import notebook_runner
from . import notebook_source, sweep_results, worker_files
from .errors import NotebookAppCellError, NotebookAppError, NotebookAppFileError, NotebookAppNotFinishedError

if TYPE_CHECKING:
    import nbformat  # imported where a notebook is written (see notebook_source)

logger = getLogger()


class NotebookApp(IPrepareApp):
    """Notebook cells as a Ganga job, executed on the worker with nbclient.

    Give the code either as ``cells`` (strings, one per cell) or as a ``notebook`` file (optionally only the
    cells carrying one of ``tags``)::

        j = Job(application=NotebookApp(cells=["import math", "print(math.pi * r**2)"], parameters={"r": 2}))

    ``parameters`` are injected as a cell of assignments (after the cell tagged ``parameters``, as papermill
    does, or first). The executed notebook comes back as ``executed.ipynb`` in the job's output directory;
    variables named in ``outputs`` come back through ``j.application.results()``. A failing cell fails the
    job, and the job's display shows that cell and its traceback. Split into a parameter sweep with
    ``NotebookSweep``.
    """

    _schema = Schema(
        Version(1, 0),
        {
            "cells": SimpleItem(
                defvalue=[], typelist=[str], sequence=1, strict_sequence=0, preparable=1, doc="Code cells to run, one string per cell"
            ),
            "notebook": SimpleItem(defvalue="", typelist=[str], preparable=1, doc="Path of a .ipynb to run (instead of cells)"),
            "tags": SimpleItem(
                defvalue=[], typelist=[str], sequence=1, strict_sequence=0, doc="Run only the notebook's cells with one of these tags"
            ),
            "kernel": SimpleItem(defvalue=None, typelist=[None, str], doc="Jupyter kernel on the worker (None: [Jupyter] default_kernel)"),
            "timeout": SimpleItem(defvalue=None, typelist=[None, int], doc="Seconds each cell may run (None: [Jupyter] cell_timeout)"),
            "parameters": SimpleItem(
                defvalue={}, typelist=None, doc="Variables set before the cells run (JSON-serialisable values); splitters vary them"
            ),
            "points": SimpleItem(
                defvalue=[],
                typelist=[dict],
                sequence=1,
                doc="Parameter sets run one after another in this job's one kernel, each over parameters "
                "(NotebookSweep(points_per_job=k) sets them); results() then has one entry per point",
            ),
            "outputs": SimpleItem(
                defvalue=[], typelist=[str], sequence=1, strict_sequence=0, doc="Variables to bring back: j.application.results()"
            ),
            "inputs_file": SimpleItem(
                defvalue="", typelist=[str], doc="A pickle of {name: value} loaded before the first cell (set by %%ganga_job)"
            ),
            "python": SimpleItem(
                defvalue=None, typelist=[None, str], doc="Python on the worker (None: [Jupyter] worker_python, see its default)"
            ),
            "is_prepared": SimpleItem(
                defvalue=None,
                strict_sequence=0,
                visitable=1,
                copyable=1,
                hidden=0,
                typelist=[None, ShareDir],
                protected=0,
                comparable=1,
                doc="Shared directory holding the prepared notebook; set by prepare()",
            ),
            "hash": SimpleItem(defvalue=None, typelist=[None, str], hidden=0, doc="MD5 hash of the preparable attributes"),
        },
    )
    _category = "applications"
    _name = "NotebookApp"
    _exportmethods = ["prepare", "unprepare", "results", "executed_notebook"]

    # ---------------------------------------------------------------- preparation (on the submitting machine)
    def source_notebook(self) -> nbformat.NotebookNode:
        """The notebook as the user wrote it (before GangaJupyter's injected cells), checked."""
        if self.cells and self.notebook:
            raise NotebookAppError("NotebookApp: give either cells or notebook, not both")
        if not self.cells and not self.notebook:
            raise NotebookAppError("NotebookApp: nothing to run. Give cells=['...'] or notebook='analysis.ipynb'")
        nb = notebook_source.from_cells(self.cells) if self.cells else notebook_source.from_file(self.notebook, list(self.tags))
        notebook_source.check_syntax(nb)
        notebook_source.check_parameters(dict(self.parameters))
        for point in self.points:
            notebook_source.check_parameters(dict(point))
        for name in self.outputs:
            if not name.isidentifier():
                raise NotebookAppError(f"NotebookApp: output {name!r} is not a Python variable name")
        if self.timeout is not None and self.timeout < 1:
            raise NotebookAppError(f"NotebookApp: timeout={self.timeout} is not a time; give the seconds each cell may run (at least 1), or None")
        if self.inputs_file and not os.path.isfile(self.inputs_file):
            raise NotebookAppError(f"NotebookApp: the inputs file {self.inputs_file!r} does not exist")
        return nb

    def configure(self, masterappconfig):
        self.source_notebook()
        return (None, None)

    def prepare(self, force=False):
        """Check the cells and write the notebook and the worker's runner into a shared directory."""
        if self.is_prepared is not None and not force:
            raise NotebookAppError("NotebookApp is already prepared. Use prepare(force=True) to prepare again.")
        nb = self.source_notebook()
        self.is_prepared = ShareDir()
        try:
            share = self.is_prepared.path()
            os.makedirs(share, exist_ok=True)
            import nbformat

            nbformat.write(nb, os.path.join(share, worker_files.NOTEBOOK))
            shutil.copy2(notebook_runner.__file__, os.path.join(share, worker_files.RUNNER))
            if self.inputs_file:
                shutil.copy2(self.inputs_file, os.path.join(share, worker_files.INPUTS))
            self.checkPreparedHasParent(self)
            self.post_prepare()
        except Exception:
            self.unprepare()
            raise
        return 1

    def unprepare(self, force=False):
        """Back to the unprepared state (the next submit prepares again)."""
        if self.is_prepared is not None:
            self.decrementShareCounter(self.is_prepared)
            self.is_prepared = None
        self.hash = None

    def kernel_name(self) -> str:
        return self.kernel or settings.option("default_kernel")

    def cell_timeout(self) -> int:
        return self.timeout if self.timeout is not None else settings.option("cell_timeout")

    # ---------------------------------------------------------------- results (back on the submitting machine)
    def executed_notebook(self) -> str:
        """Path of the executed notebook in the job's output directory."""
        job = self.getJobObject()
        path = os.path.join(job.outputdir, notebook_runner.EXECUTED)
        if not os.path.isfile(path):
            raise NotebookAppNotFinishedError(f"Job {job.fqid} ({job.status}) has no executed notebook yet: {path}")
        return path

    def results(self, strict: bool = False) -> Any:
        """The variables named in ``outputs``: a dict; for a split job (a sweep), or a job of several ``points``,
        the dicts of the points that completed, in order, with ``.points`` (each one's point number and
        parameters) and ``.missing`` (why each other point has none, also told in a warning). ``strict`` raises
        for the first such point instead.

        Raises NotebookCellError when a cell failed on the worker, NotFinishedError when the job has not completed,
        NotebookAppError when it asked for no outputs (each as its Ganga form, see ``errors.py``)."""
        job = self.getJobObject()
        if not self.outputs:
            raise NotebookAppError("NotebookApp: this job asked for no outputs. Set outputs=['name', ...] before submitting.")
        if len(job.subjobs) or self.points:
            return sweep_results.collect(job.subjobs if len(job.subjobs) else [job], strict)
        if job.status != "completed":
            report = worker_files.read_report(job)
            cell_error = report.cell_error(job.fqid, NotebookAppCellError) if report and job.status == "failed" else None
            if cell_error is not None:
                raise cell_error
            why = report.describe() if report else ""
            raise NotebookAppNotFinishedError(f"Job {job.fqid} is '{job.status}': outputs exist once it has completed. {why}".strip())
        path = os.path.join(job.outputdir, notebook_runner.OUTPUTS)
        if not os.path.isfile(path):
            raise NotebookAppFileError(f"Job {job.fqid} completed but its outputs file is missing: {path}")
        with open(path, "rb") as handle:
            return pickle.load(handle)  # written by the job's own kernel, from the user's own cells
