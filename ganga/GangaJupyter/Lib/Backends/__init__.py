"""Backend adapters: what GangaJupyter asks of each Ganga backend (:class:`BackendAdapter`), found by the job's
backend name (:func:`adapter_for`). Display, live views and the status-file watch ask here instead of testing
backend names; the Jupyter server asks only :func:`backend_name` (nothing here imports Ganga). Importing this
package registers Local's adapter; the Slurm and HTCondor rooms register theirs when they are imported."""
from __future__ import annotations

from . import local  # noqa: F401  (registers Local's adapter)
from .adapter import BackendAdapter
from .registry import adapter_for, backend_name, register

__all__ = ["BackendAdapter", "adapter_for", "backend_name", "register"]
