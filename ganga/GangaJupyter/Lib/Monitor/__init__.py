"""Kernel-side monitoring: the hook on Ganga's status changes, the event stream, fast detection through status files, and the
narrow fixes of Ganga's monitoring loop. Data flows one way: Ganga status change -> hook -> stream -> views."""
from __future__ import annotations

from .. import settings
from .ganga_fixes import submit_in_progress  # noqa: F401  (backend glue asks it before updating a job)


def watch_job(job) -> None:
    """Fast detection for a job a view shows (when it is on a backend GangaJupyter watches, and active)."""
    if settings.option("fast_local_detection"):
        from .status_file_watch import watch_job as watch_file

        watch_file(job)


def install() -> None:
    """Install the hook and the fixes (idempotent)."""
    from . import ganga_fixes, job_updates, status_file_watch, status_hook

    status_hook.install()
    ganga_fixes.install()
    job_updates.install()
    if settings.option("fast_local_detection"):
        status_file_watch.install()
