"""The ``HTCondor`` backend (htcondor2 bindings): defining the class registers it with Ganga.

Importing this package does not import ``htcondor2``: GangaJupyter loads without the ``htcondor`` wheel, and the
backend says how to install it when a job needs it.
"""
from __future__ import annotations

from ..Monitor.status_file_watch import watch_file
from . import ganga_config
from .description import EVENT_LOG
from .HTCondor import HTCondor
from . import handlers  # noqa: F401  (runtime handlers for Executable and NotebookApp)

ganga_config.declare()
# Shared-filesystem jobs: HTCondor writes their event log in place, so its changes trigger a poll at once.
watch_file("HTCondor", lambda job: None if job.backend.spool else EVENT_LOG)

__all__ = ["HTCondor"]
