"""Local jobs keep the CPU time and peak memory seen while they ran, for the pictures of a split job."""
from __future__ import annotations

import functools
from typing import Any, Callable

from GangaCore.Lib.Localhost.Localhost import Localhost

from ..Backends.local import local_adapter
from ..Core import scheduler_record
from .patch import Wrap, WrapperPatch


def _sample_first(read_status_files: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
    @functools.wraps(read_status_files)
    async def sample_then_read(jobs):
        local_adapter.sample(jobs)  # before the read: a job that ends now is still seen with its processes
        return await read_status_files(jobs)

    return sample_then_read


def _forget_previous_run(resubmit: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(resubmit)
    def resubmit_afresh(self):
        scheduler_record.clear(self.getJobObject())
        return resubmit(self)

    return resubmit_afresh


PATCH = WrapperPatch(
    name="local_figures",
    changes=(
        "GangaCore.Lib.Localhost.Localhost.Localhost.updateMonitoringInformation, "
        "GangaCore.Lib.Localhost.Localhost.Localhost.resubmit"
    ),
    why=(
        "Ganga 8.7.12's ``Local`` backend records no CPU time or memory of its jobs, so once a job has ended its "
        "figures are lost. Each of Ganga's polls of ``Local`` jobs (and each status-file update) first reads the "
        "CPU time and resident memory of every running job's processes with psutil, and keeps the CPU time and "
        "the peak memory in the job's scheduler record when they change (``__scheduler__.json`` in its output "
        "directory); a resubmit clears them. The job view and its pictures read them after the job has ended."
    ),
    wraps=(
        Wrap(Localhost, "updateMonitoringInformation", _sample_first),
        Wrap(Localhost, "resubmit", _forget_previous_run),
    ),
)
