"""Runtime handlers: Executable and NotebookApp jobs on ``HTCondor`` use the same job description as on Ganga's
``Condor`` (a ``StandardJobConfig``)."""
from __future__ import annotations

from GangaCore.GPIDev.Adapters.ApplicationRuntimeHandlers import allHandlers
from GangaCore.Lib.Executable.Executable import RTHandler

from ..NotebookApp.handlers import NotebookAppRTHandler

allHandlers.add("Executable", "HTCondor", RTHandler)
allHandlers.add("NotebookApp", "HTCondor", NotebookAppRTHandler)
