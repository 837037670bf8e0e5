"""One backend update of a job at a time, and none once the job has ended.

Fast detection (:mod:`.status_file_watch`) updates a job as soon as its status file changes, while Ganga's poll
may be updating the same job. Ganga 8.7.12's backends are not written for that: Local's
``updateMonitoringInformation`` awaits the file read and then completes the job whatever its status has become,
and Batch's (Slurm) checks ``running`` before the completion hooks have run. ``Job.updateStatus`` from a status
to itself still calls ``transition_update``, so the second update finalises the job again: postprocessors run
twice and Local's second ``remove_workdir`` logs ``problem removing the workdir``.

So every backend update, Ganga's (through ``AsyncMonitoringService.run_monitoring_task``, which all of Ganga's
per-backend checks go through) and fast detection's, passes through :func:`one_update_per_job`: a job that
another update holds is left to it, and that update reads it once more when it ends (a status-file change must
not be lost to a read made just before it); a job that is no longer submitted or running is not updated at all.
"""
from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any, Callable

from GangaCore.Core.MonitoringComponent.MonitoringService import AsyncMonitoringService

ACTIVE = ("submitted", "running")
_ORIGINAL_RUN_TASK = AsyncMonitoringService.run_monitoring_task

_lock = threading.Lock()
_held: dict[str, bool] = {}  # fqid of a job being updated -> another update asked for it meanwhile


def _claim(jobs: list[Any]) -> list[Any]:
    """The jobs of ``jobs`` no other update holds, now held by the caller; the others are marked to read again."""
    mine = []
    with _lock:
        for job in jobs:
            fqid = job.getFQID(".")
            if fqid in _held:
                _held[fqid] = True
            else:
                _held[fqid] = False
                mine.append(job)
    return mine


def _next_round(jobs: list[Any]) -> list[Any]:
    """Release the held ``jobs`` except those asked for meanwhile, which stay held for one more read."""
    again = []
    with _lock:
        for job in jobs:
            fqid = job.getFQID(".")
            if _held.pop(fqid, False):
                _held[fqid] = False
                again.append(job)
    return again


def _release(jobs: list[Any]) -> None:
    with _lock:
        for job in jobs:
            _held.pop(job.getFQID("."), None)


def one_update_per_job(update: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
    """``update(jobs)`` (a backend's ``updateMonitoringInformation``, sync or async) under the rule above."""
    if asyncio.iscoroutinefunction(update):

        @functools.wraps(update)
        async def guarded(jobs):
            todo = _claim(jobs)
            try:
                while todo:
                    active = [job for job in todo if job.status in ACTIVE]
                    if active:
                        await update(active)
                    todo = _next_round(todo)
            finally:
                _release(todo)

    else:

        @functools.wraps(update)
        def guarded(jobs):
            todo = _claim(jobs)
            try:
                while todo:
                    active = [job for job in todo if job.status in ACTIVE]
                    if active:
                        update(active)
                    todo = _next_round(todo)
            finally:
                _release(todo)

    guarded.one_update_per_job = True
    return guarded


@functools.wraps(_ORIGINAL_RUN_TASK)
def _run_monitoring_task(self, monitoring_task, jobs):
    if not getattr(monitoring_task, "one_update_per_job", False):
        monitoring_task = one_update_per_job(monitoring_task)
    return _ORIGINAL_RUN_TASK(self, monitoring_task, jobs)


def install() -> None:
    """Route Ganga's backend updates through :func:`one_update_per_job` (idempotent)."""
    AsyncMonitoringService.run_monitoring_task = _run_monitoring_task
