"""Ganga's ``Local`` (and ``Interactive``) backend: its wrapper writes ``__jobstatus__``, and the payload runs on this machine as process
``backend.id``, whose CPU time and memory psutil can read. What it reads while a job runs is kept in the job's
scheduler record, so the figures are still known after the job has ended."""
from __future__ import annotations

import dataclasses
from typing import Any

import psutil

from ..Core import scheduler_record
from ..Core.figures import megabytes
from ..Core.scheduler_record import SchedulerRecord
from .adapter import STATUS_FILE, BackendAdapter
from .registry import register


def _tenths(seconds: float) -> str:
    """``m:ss.s`` (``h:mm:ss.s`` from an hour on): short jobs' CPU times differ in tenths of a second."""
    hours, rest = divmod(round(seconds, 1), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:04.1f}" if hours else f"{int(minutes)}:{secs:04.1f}"


class LocalAdapter(BackendAdapter):
    name = "Local"
    class_name = "Localhost"
    runs_here = True

    def watched_file(self, job: Any) -> str | None:
        return STATUS_FILE

    async def update(self, jobs: list[Any]) -> None:
        """Ganga's own status-file reading (a coroutine function in Ganga 8.7), which :meth:`sample` precedes
        (the ``local_figures`` patch)."""
        if jobs:
            await type(jobs[0].backend).updateMonitoringInformation(jobs)

    def scheduler_record(self, job: Any) -> SchedulerRecord:
        """Ganga's fields, and the CPU time and peak memory :meth:`sample` kept."""
        kept = scheduler_record.read(job)
        return dataclasses.replace(super().scheduler_record(job), cpu_time=kept.cpu_time, max_memory=kept.max_memory)

    def sample(self, jobs: list[Any]) -> None:
        """Keep each running job's CPU time and peak memory so far in its scheduler record (written only when
        one of them changes: CPU time to a tenth of a second, memory to the MB)."""
        for job in jobs:
            if job.status != "running":
                continue
            figures = self.live_figures(job)
            if not figures:
                continue
            peak = max(figures["rss_bytes"] / 1024**2, megabytes(scheduler_record.read(job).max_memory) or 0.0)
            try:
                scheduler_record.update(job, cpu_time=_tenths(figures["cpu_seconds"]), max_memory=f"{peak:.0f} MB")
            except OSError:  # a full disk must not stop Ganga's poll; the next poll tries again
                continue

    def live_figures(self, job: Any) -> dict[str, float]:
        """CPU time (user + system) and resident memory of the job's process and all its children."""
        pid = getattr(job.backend, "id", None)
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
            return {}
        try:
            proc = psutil.Process(pid)
            procs = [proc] + proc.children(recursive=True)
        except psutil.Error:  # the process has ended, or is not ours to read
            return {}
        cpu, rss = 0.0, 0
        for p in procs:
            try:
                times = p.cpu_times()
                cpu, rss = cpu + times.user + times.system, rss + p.memory_info().rss
            except psutil.Error:  # a child that ended meanwhile
                if p is proc:
                    return {}
        return {"cpu_seconds": cpu, "rss_bytes": float(rss)}


class InteractiveAdapter(BackendAdapter):
    """Ganga's ``Interactive`` backend runs the job in the foreground, on this machine."""

    name = "Interactive"
    runs_here = True


local_adapter = register(LocalAdapter())
register(InteractiveAdapter())
