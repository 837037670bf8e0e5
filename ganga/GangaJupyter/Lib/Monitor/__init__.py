"""Kernel-side monitoring: the hook on Ganga's status changes, the event stream, fast Local detection, and the
narrow fixes of Ganga's monitoring loop. Data flows one way: Ganga status change -> hook -> stream -> views."""
from __future__ import annotations

from .. import settings


def watch_job(job) -> None:
    """Fast detection for a job a view shows (when it is on a backend GangaJupyter watches, and active)."""
    if settings.option("fast_local_detection"):
        from .local_watch import watch_job as watch_local

        watch_local(job)


def install() -> None:
    """Install the hook and the fixes (idempotent)."""
    from . import ganga_fixes, local_watch, status_hook

    status_hook.install()
    ganga_fixes.install()
    if settings.option("fast_local_detection"):
        local_watch.install()
