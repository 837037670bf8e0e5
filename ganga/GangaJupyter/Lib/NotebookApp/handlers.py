"""Runtime handlers: how a NotebookApp becomes a job on each backend (the worker runs the shipped runner)."""
from __future__ import annotations

import json
import os
import sys

from GangaCore.GPIDev.Adapters.ApplicationRuntimeHandlers import allHandlers
from GangaCore.GPIDev.Adapters.IRuntimeHandler import IRuntimeHandler
from GangaCore.GPIDev.Adapters.StandardJobConfig import StandardJobConfig
from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.GPIDev.Lib.File import File, FileBuffer
from GangaCore.Lib.Executable.Executable import RTHandler as ExecutableRTHandler

from .. import settings
from ..Backends import adapter_for
from . import notebook_source, worker_files


def worker_python(app, runs_here: bool) -> str:
    configured = app.python or settings.option("worker_python")
    if configured:
        return configured
    # Absolute path on this machine: Ganga 8.7.12's Local backend gives the payload no PATH (docs: ganga-notes).
    return sys.executable if runs_here else "python3"


class NotebookAppRTHandler(IRuntimeHandler):
    """The same job description for every backend that takes a ``StandardJobConfig``."""

    def master_prepare(self, app, appmasterconfig):
        if adapter_for(stripProxy(app).getJobObject()).runs_here:
            notebook_source.check_local_kernel(app.kernel_name())
        return None

    def prepare(self, app, appsubconfig, appmasterconfig, jobmasterconfig):
        app = stripProxy(app)
        job = app.getJobObject()
        runs_here = adapter_for(job).runs_here
        share = app.is_prepared.path()
        spec = {
            "notebook": worker_files.NOTEBOOK,
            "kernel": app.kernel_name(),
            "timeout": app.cell_timeout(),
            "parameters": notebook_source.check_parameters(dict(app.parameters)),
            "points": [notebook_source.check_parameters({**dict(app.parameters), **dict(p)}) for p in app.points],
            "outputs": list(app.outputs),
            "inputs_file": worker_files.INPUTS if app.inputs_file else None,
            # Fills gaps only (the runner uses setdefault): Local in Ganga 8.7.12 drops the whole environment.
            "environment": {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ} if runs_here else {},
        }
        inputbox = list(job.inputsandbox) + [
            File(os.path.join(share, worker_files.RUNNER)),
            File(os.path.join(share, worker_files.NOTEBOOK)),
            FileBuffer(worker_files.SPEC, json.dumps(spec, indent=1)),
        ]
        if app.inputs_file:
            inputbox.append(File(os.path.join(share, worker_files.INPUTS)))
        return StandardJobConfig(
            worker_python(app, runs_here),
            inputbox,
            [worker_files.RUNNER, worker_files.SPEC],
            list(job.outputsandbox) + worker_files.OUTPUTBOX,
            None,
        )


# NotebookApp runs wherever Ganga runs an Executable from a StandardJobConfig (Local, Slurm, Condor, LSF, ...).
for _backend in allHandlers.getAllBackends("Executable"):
    if allHandlers.get("Executable", _backend) is ExecutableRTHandler:
        allHandlers.add("NotebookApp", _backend, NotebookAppRTHandler)
