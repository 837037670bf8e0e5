"""Every backend that becomes active is polled, also when two become active in the same scan of Ganga's monitor."""
from __future__ import annotations

import functools
import re
from typing import Any, Callable

from GangaCore.Core.MonitoringComponent.MonitoringService import AsyncMonitoringService
from GangaCore.GPIDev.Lib.Job.Job import lazyLoadJobBackend
from GangaCore.Utility.logging import getLogger

from .patch import Wrap, WrapperPatch, ganga_source

logger = getLogger()

#: Ganga 8.7.12's loop over the newly active backends checks the last job's backend object, not each backend's.
CHECKS_LAST_BACKEND = re.compile(
    r"for backend_name in self\.active_backends:[^\n]*\n(?:[^\n]*\n){0,3}?[^\n]*self\._check_backend\(backend_obj\)"
)


def newly_active_without_check(service: AsyncMonitoringService, before: set[str]) -> list[str]:
    """Backends that became active in this scan but got no scheduled check (Ganga's bug)."""
    return [
        name
        for name in service.active_backends
        if name not in before and not service.scheduled_backend_checks.get(name)
    ]


def _check_the_skipped(scan: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(scan)
    def check_active_backends(self, job_slice=None):
        before = set(self.active_backends)
        scan(self, job_slice)
        if not self.enabled:
            return
        for name in newly_active_without_check(self, before):  # none with a fixed Ganga: then this does nothing
            logger.debug("GangaJupyter: checking backend %s, which Ganga's scan skipped (multi-backend bug)", name)
            self._check_backend(lazyLoadJobBackend(self.active_backends[name][0]))

    return check_active_backends


class MultiBackendScan(WrapperPatch):
    def still_needed(self) -> bool:
        return bool(CHECKS_LAST_BACKEND.search(ganga_source(AsyncMonitoringService, "_check_active_backends")))


PATCH = MultiBackendScan(
    name="multi_backend_scan",
    changes="GangaCore.Core.MonitoringComponent.MonitoringService.AsyncMonitoringService._check_active_backends",
    why=(
        "When two backends become active in the same scan, Ganga 8.7.12's ``_check_active_backends`` checks the "
        "backend of the *last job scanned* once per newly active backend, so the other backends are never polled "
        "(Local, HTCondor and Slurm jobs watched together would not all progress). Ganga's scan runs unchanged; "
        "then any newly active backend that it left without a scheduled check is checked."
    ),
    wraps=(Wrap(AsyncMonitoringService, "_check_active_backends", _check_the_skipped),),
)
