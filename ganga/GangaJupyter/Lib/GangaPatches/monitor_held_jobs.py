"""Each session's monitor polls the jobs it holds, and adopts the jobs of sessions that died."""
from __future__ import annotations

import functools
from typing import Any, Callable

from GangaCore.Core.MonitoringComponent.MonitoringService import AsyncMonitoringService
from GangaCore.Utility.logging import getLogger

from ..Session import sharing
from .patch import Wrap, WrapperPatch

logger = getLogger()


#: The statuses in which Ganga's scan picks a job to poll (``submitting`` for a subjob's master): the others are
#: left out before it reads them.
POLLED = frozenset({"submitting", "submitted", "running"})


class HeldSlice:
    """Ganga's registry slice without the jobs another live session holds (its monitor polls those), nor the jobs
    whose status Ganga's scan would skip: it reads every job through Ganga's attribute access, which a
    100,000-job repository made a quarter of the kernel's time."""

    def __init__(self, everything: Any, others: set[int]):
        self._everything = everything
        self._others = others

    def ids(self) -> list[int]:
        candidates = {i for i, _, status in sharing.job_statuses() if status in POLLED}
        return [i for i in self._everything.ids() if i in candidates and i not in self._others]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._everything(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._everything, name)


def _held_only(scan: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(scan)
    def scan_held(self, job_slice=None):
        if not self.enabled:
            return scan(self, job_slice)
        try:
            others = sharing.before_scan()
        except Exception as err:  # the gangadir went away for a while: this scan polls what it can
            logger.debug("GangaJupyter: could not read the other sessions' locks: %s", err)
            others = set()
        everything = self.registry_slice
        self.registry_slice = HeldSlice(everything, others)
        try:
            return scan(self, job_slice)
        finally:
            self.registry_slice = everything

    return scan_held


PATCH = WrapperPatch(
    name="monitor_held_jobs",
    changes="GangaCore.Core.MonitoringComponent.MonitoringService.AsyncMonitoringService._check_active_backends",
    why=(
        "Ganga 8.7.12 monitors from one session per gangadir: a second session turns its monitoring off, and if "
        "turned on it would poll jobs another session holds and fail on their locks. GangaJupyter lets every "
        "session monitor (docs/shared-gangadir.rst): before each scan of Ganga's monitor, the session reaps the "
        "Ganga sessions of this host whose process has ended (as Ganga's reaper does after ``DiskIOTimeout``), "
        "adopts the jobs that need monitoring and that no live session holds (read again from disk, locked, and "
        "brought to their true state when their session died mid-submit), and leaves the jobs other live "
        "sessions hold out of the scan, as it does the jobs whose status it would not poll (it read every job "
        "through Ganga's attribute access: a quarter of the kernel's time on 100,000 jobs). Ganga's scan runs "
        "unchanged on the rest."
    ),
    wraps=(Wrap(AsyncMonitoringService, "_check_active_backends", _held_only, depth=1),),
)
