"""Narrow workarounds for Ganga 8.7.12 monitoring bugs that would break live views. Each checks, every time it
runs, whether Ganga still has the bug, and does nothing when it does not.

Multi-backend bug (``AsyncMonitoringService._check_active_backends``): when two backends become active in the
same scan, Ganga checks the backend of the *last job scanned* once per newly active backend, so the other
backends are never polled (Local, HTCondor and Slurm jobs watched together would not all progress). The fix
runs Ganga's scan unchanged and then checks any newly active backend that Ganga left without a scheduled check.
With a fixed Ganga every new backend has one, and the fix does nothing.

Submit race (``Job.submit``): after the backend has submitted a job and marked it ``submitted``, Ganga's
``Job.submit`` marks it ``submitted`` once more (``if self.master is None: self.updateStatus("submitted")``),
which the state graph allows from any final state (as for ``resubmit``). A fast job that fast detection has
already seen end (a Slurm echo job ends within half a second) would go ``completed -> submitted`` and be
completed twice. Fast detection asks :func:`submit_in_progress` and waits until ``submit()`` has returned; the
guard is installed only while Ganga's ``Job.submit`` still has that second update.

Submit failure hidden (same wrapper): when the backend refuses a job that is not split, Ganga rolls it back to
``new`` and then tries to mark it ``failed``, so the user gets ``JobStatusError: forbidden status transition of
job N from "new" to "failed"`` instead of the reason, which Ganga logged just before. The wrapper raises a
``JobError`` that says the job stays ``new`` and points at that reason.
"""
from __future__ import annotations

import functools
import inspect
import threading
from typing import Any, Callable

from GangaCore.GPIDev.Lib.Job.Error import JobError, JobStatusError
from GangaCore.Core.MonitoringComponent.MonitoringService import AsyncMonitoringService
from GangaCore.GPIDev.Lib.Job.Job import Job, lazyLoadJobBackend
from GangaCore.Utility.logging import getLogger

logger = getLogger()

_ORIGINAL_SCAN = AsyncMonitoringService._check_active_backends
_ORIGINAL_SUBMIT = Job.submit
SECOND_SUBMITTED_UPDATE = 'if self.master is None:\n                self.updateStatus("submitted")'


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


_in_submit: set[int] = set()
_in_submit_lock = threading.Lock()
_after_submit: list[Callable[[Any], None]] = []


def submit_in_progress(job: Any) -> bool:
    """True while ``submit()`` of this job (or of its master) has not returned."""
    return id(job.master or job) in _in_submit


def after_submit(callback: Callable[[Any], None]) -> None:
    """Call ``callback(job)`` each time a job's ``submit()`` returns (or fails)."""
    _after_submit.append(callback)


@functools.wraps(_ORIGINAL_SUBMIT)
def _submit(self, *args, **kwargs):
    with _in_submit_lock:
        _in_submit.add(id(self))
    try:
        return _ORIGINAL_SUBMIT(self, *args, **kwargs)
    except JobStatusError as err:
        if self.status != "new" or '"new" to "failed"' not in str(err):
            raise
        raise JobError(
            f"job {self.getFQID('.')} was not submitted and stays 'new' (nothing is lost): the backend refused it, "
            "for the reason in the ERROR message above. Fix that and submit it again"
        ) from None
    finally:
        with _in_submit_lock:
            _in_submit.discard(id(self))
        for callback in _after_submit:
            callback(self)


def has_submit_race() -> bool:
    return SECOND_SUBMITTED_UPDATE in inspect.getsource(_ORIGINAL_SUBMIT)


def install() -> None:
    """Wrap Ganga's scan, and ``Job.submit`` while it has the race (idempotent)."""
    AsyncMonitoringService._check_active_backends = _check_active_backends
    if has_submit_race():
        Job.submit = _submit
