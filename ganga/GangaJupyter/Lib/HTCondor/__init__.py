"""The ``HTCondor`` backend (htcondor2 bindings): defining the class registers it with Ganga.

Importing this package does not import ``htcondor2``: GangaJupyter loads without the ``htcondor`` wheel, and the
backend says how to install it when a job needs it.
"""
from __future__ import annotations

from . import adapter  # noqa: F401  (registers HTCondor's adapter)
from .HTCondor import HTCondor
from . import handlers  # noqa: F401  (runtime handlers for Executable and NotebookApp)

__all__ = ["HTCondor"]
