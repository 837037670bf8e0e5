"""Ganga's ``Local`` (and ``Interactive``) backend: its wrapper writes ``__jobstatus__``, and the payload runs on this machine as process
``backend.id``, whose CPU time and memory psutil can read."""
from __future__ import annotations

from typing import Any

import psutil

from .adapter import STATUS_FILE, BackendAdapter
from .registry import register


class LocalAdapter(BackendAdapter):
    name = "Local"
    class_name = "Localhost"
    runs_here = True

    def watched_file(self, job: Any) -> str | None:
        return STATUS_FILE

    async def update(self, jobs: list[Any]) -> None:
        """Ganga's own status-file reading (a coroutine function in Ganga 8.7)."""
        if jobs:
            await type(jobs[0].backend).updateMonitoringInformation(jobs)

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
