"""Every backend update Ganga's monitor makes goes through the guard fast detection's updates go through."""
from __future__ import annotations

import functools
from typing import Any, Callable

from GangaCore.Core.MonitoringComponent.MonitoringService import AsyncMonitoringService

from ..Monitor.update_guard import one_update_per_job
from .patch import Wrap, WrapperPatch


def _guard_every_task(run_monitoring_task: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(run_monitoring_task)
    def run_guarded(self, monitoring_task, jobs):
        if not getattr(monitoring_task, "one_update_per_job", False):
            monitoring_task = one_update_per_job(monitoring_task)
        return run_monitoring_task(self, monitoring_task, jobs)

    return run_guarded


PATCH = WrapperPatch(
    name="one_update_per_job",
    changes="GangaCore.Core.MonitoringComponent.MonitoringService.AsyncMonitoringService.run_monitoring_task",
    why=(
        "Fast detection updates a job as soon as its status file changes, while Ganga's poll may be updating the "
        "same job, and Ganga 8.7.12's backends are not written for two readers: Local's "
        "``updateMonitoringInformation`` completes every job it is given whose status file has an exit code, "
        "whatever the job's status has become meanwhile (Batch, hence Slurm, checks ``running`` before the "
        "completion hooks have run, so two threads can both pass), and ``updateStatus('completed')`` on a "
        "``completed`` job still calls ``transition_update``: the postprocessors run again, and Local's second "
        "``remove_workdir`` logs ``problem removing the workdir``. Plain Ganga hits this when "
        "``[PollThread] Local`` is shorter than its 2 s scan. Every backend update, Ganga's (through "
        "``run_monitoring_task``, which all of its per-backend checks go through) and fast detection's, passes one "
        "guard: one update of a job at a time (the other is folded into a second read by the first), and none "
        "once the job is no longer ``submitted`` or ``running``. It coordinates GangaJupyter's own second reader, "
        "so it stays installed with a fixed Ganga, where it changes nothing."
    ),
    wraps=(Wrap(AsyncMonitoringService, "run_monitoring_task", _guard_every_task),),
)
