"""One backend update of a job at a time, and none once the job has ended: fast detection and Ganga's poll may
read the same job at once (the ``one_update_per_job`` patch routes Ganga's updates through here)."""
from __future__ import annotations

import asyncio
import functools
import threading
import time
from typing import Any, Callable

from ..Core.statuses import AT_BACKEND


_lock = threading.Lock()
_held: dict[str, bool] = {}  # fqid of a job being updated -> another update asked for it meanwhile


def held_here(job: Any) -> bool:
    """Whether this session holds the job's lock: a job another session holds is that session's to update."""
    root = job._getRoot()
    return bool(getattr(root, "_registry_locked", False)) or root._registry is None


def wait_until_free(jobs: list[Any], timeout: float) -> None:
    """Wait (at most ``timeout`` seconds) until no update holds any of ``jobs``: a read asked for now must not be
    the one that finds a job held and leaves it to an update already past its status file."""
    fqids = {job.getFQID(".") for job in jobs}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _lock:
            if not fqids & _held.keys():
                return
        time.sleep(0.01)


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
    """``update(jobs)`` (a backend's ``updateMonitoringInformation``, sync or async) under this rule:
    a job another update holds is left to it, and that update reads it once more when it ends (a status-file
    change must not be lost to a read made just before it); a job no longer submitted or running, or that another
    Ganga session on the gangadir holds, is not updated."""
    if asyncio.iscoroutinefunction(update):

        @functools.wraps(update)
        async def guarded(jobs):
            todo = _claim(jobs)
            try:
                while todo:
                    active = [job for job in todo if job.status in AT_BACKEND and held_here(job)]
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
                    active = [job for job in todo if job.status in AT_BACKEND and held_here(job)]
                    if active:
                        update(active)
                    todo = _next_round(todo)
            finally:
                _release(todo)

    guarded.one_update_per_job = True
    return guarded
