"""Kernel-side monitoring: the event stream of Ganga's status changes (fed by the ``status_hook`` patch) and fast
detection through status files. Data flows one way: Ganga status change -> hook -> stream -> subscribers."""
from __future__ import annotations

from .. import settings


def watch_job(job) -> None:
    """Fast detection for a job a view shows (when it is on a backend GangaJupyter watches, and active)."""
    if settings.option("fast_local_detection"):
        from .status_file_watch import watch_job as watch_file

        watch_file(job)


def install() -> None:
    """Start fast detection, when ``[Jupyter] fast_local_detection`` is on (loadPlugins, once)."""
    if settings.option("fast_local_detection"):
        from . import status_file_watch

        status_file_watch.install()
