"""Narrow workarounds for Ganga 8.7.12 monitoring bugs that would break live views. Each checks, every time it
runs, whether Ganga still has the bug, and does nothing when it does not.

Multi-backend bug (``AsyncMonitoringService._check_active_backends``): when two backends become active in the
same scan, Ganga checks the backend of the *last job scanned* once per newly active backend, so the other
backends are never polled (Local, HTCondor and Slurm jobs watched together would not all progress). The fix
runs Ganga's scan unchanged and then checks any newly active backend that Ganga left without a scheduled check.
With a fixed Ganga every new backend has one, and the fix does nothing.
"""
from __future__ import annotations

import functools

from GangaCore.Core.MonitoringComponent.MonitoringService import AsyncMonitoringService
from GangaCore.GPIDev.Lib.Job.Job import lazyLoadJobBackend
from GangaCore.Utility.logging import getLogger

logger = getLogger()

_ORIGINAL_SCAN = AsyncMonitoringService._check_active_backends


def newly_active_without_check(service: AsyncMonitoringService, before: set[str]) -> list[str]:
    """Backends that became active in this scan but got no scheduled check (Ganga's bug)."""
    return [
        name
        for name in service.active_backends
        if name not in before and not service.scheduled_backend_checks.get(name)
    ]


@functools.wraps(_ORIGINAL_SCAN)
def _check_active_backends(self, job_slice=None):
    before = set(self.active_backends)
    _ORIGINAL_SCAN(self, job_slice)
    if not self.enabled:
        return
    for name in newly_active_without_check(self, before):
        logger.debug("GangaJupyter: checking backend %s, which Ganga's scan skipped (multi-backend bug)", name)
        self._check_backend(lazyLoadJobBackend(self.active_backends[name][0]))


def install() -> None:
    """Wrap Ganga's scan (idempotent)."""
    AsyncMonitoringService._check_active_backends = _check_active_backends
