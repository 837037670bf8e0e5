"""Runtime handlers: how a NotebookApp becomes a job on each backend (the worker runs the shipped runner)."""
from __future__ import annotations

import json
import os
import sys

from GangaCore.GPIDev.Adapters.ApplicationRuntimeHandlers import allHandlers
from GangaCore.GPIDev.Adapters.IRuntimeHandler import IRuntimeHandler
from GangaCore.GPIDev.Adapters.StandardJobConfig import StandardJobConfig
from GangaCore.GPIDev.Base.Proxy import getName, stripProxy
from GangaCore.GPIDev.Lib.File import File, FileBuffer

from .. import settings
from . import notebook_source, worker_files

#: Backends that run the job on this machine: the submitting Python is the worker's Python.
SAME_MACHINE = ("Local", "Interactive")
BATCH = ("Batch", "LSF", "PBS", "SGE", "Slurm", "Condor")


def worker_python(app, backend: str) -> str:
    configured = app.python or settings.option("worker_python")
    if configured:
        return configured
    # Absolute path on this machine: Ganga 8.7.12's Local backend gives the payload no PATH (docs: ganga-notes).
    return sys.executable if backend in SAME_MACHINE else "python3"


class NotebookAppRTHandler(IRuntimeHandler):
    """The same job description for every backend that takes a ``StandardJobConfig``."""

    def master_prepare(self, app, appmasterconfig):
        if getName(stripProxy(app).getJobObject().backend) in SAME_MACHINE:
            notebook_source.check_local_kernel(app.kernel_name())
        return None

    def prepare(self, app, appsubconfig, appmasterconfig, jobmasterconfig):
        app = stripProxy(app)
        job = app.getJobObject()
        backend = getName(job.backend)
        share = app.is_prepared.path()
        spec = {
            "notebook": worker_files.NOTEBOOK,
            "kernel": app.kernel_name(),
            "timeout": app.cell_timeout(),
            "parameters": notebook_source.check_parameters(dict(app.parameters)),
            "outputs": list(app.outputs),
            "inputs_file": worker_files.INPUTS if app.inputs_file else None,
            # Fills gaps only (the runner uses setdefault): Local in Ganga 8.7.12 drops the whole environment.
            "environment": {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ} if backend in SAME_MACHINE else {},
        }
        inputbox = list(job.inputsandbox) + [
            File(os.path.join(share, worker_files.RUNNER)),
            File(os.path.join(share, worker_files.NOTEBOOK)),
            FileBuffer(worker_files.SPEC, json.dumps(spec, indent=1)),
        ]
        if app.inputs_file:
            inputbox.append(File(os.path.join(share, worker_files.INPUTS)))
        return StandardJobConfig(
            worker_python(app, backend),
            inputbox,
            [worker_files.RUNNER, worker_files.SPEC],
            list(job.outputsandbox) + worker_files.OUTPUTBOX,
            None,
        )


for _backend in SAME_MACHINE + BATCH:
    allHandlers.add("NotebookApp", _backend, NotebookAppRTHandler)
