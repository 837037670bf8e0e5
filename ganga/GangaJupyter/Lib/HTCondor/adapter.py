"""HTCondor's adapter: a shared-filesystem job's event log is watched, the update is the poll of
:class:`.monitoring.HTCondorMonitor` (the adapter owns the one monitor of this process), and the scheduler record
is built from the backend's own fields, so HTCondor's reasons show where Slurm's do."""
from __future__ import annotations

from typing import Any

from GangaCore.Core.exceptions import BackendError

from ..Backends import BackendAdapter, register
from ..Core.scheduler_record import SchedulerRecord
from ..Core.text import format_duration
from . import bindings
from .description import EVENT_LOG
from .monitoring import PAYLOAD_EXIT, HTCondorMonitor


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class HTCondorAdapter(BackendAdapter):
    name = "HTCondor"

    def __init__(self, monitor: HTCondorMonitor | None = None) -> None:
        self.monitor = monitor or HTCondorMonitor()

    def watched_file(self, job: Any) -> str | None:
        """The event log, which HTCondor writes in place for shared-filesystem jobs (spool jobs' stays in the
        schedd's spool directory)."""
        return None if job.backend.spool else EVENT_LOG

    def update(self, jobs: list[Any]) -> None:
        self.monitor.poll(jobs)

    def scheduler_record(self, job: Any) -> SchedulerRecord:
        backend = job.backend
        wall, cpu, memory = _number(backend.walltime), _number(backend.cputime), _number(backend.memory)
        exit_code = "" if backend.exitcode is None else str(backend.exitcode)
        reason = backend.reason or ""
        if reason == PAYLOAD_EXIT.format(backend.exitcode):
            reason = ""  # the exit code says it; the payload's stderr says why
        return SchedulerRecord(
            system=self.name,
            state=backend.status or "",
            reason=reason,
            nodes=backend.actualCE or "",
            wall_time=format_duration(wall) if wall is not None else "",
            cpu_time=format_duration(cpu) if cpu is not None else "",
            max_memory=f"{memory:.0f} MB" if memory is not None else "",
            exit_code=exit_code,
        )

    def explain(self, error: BaseException) -> str:
        if type(error).__module__.split(".")[0] in ("htcondor2", "classad2"):
            error = bindings.explain("talking to HTCondor", error)
        if isinstance(error, BackendError) and error.args:
            return str(error.args[0])  # already names the fix; without Ganga's class name
        return str(error)


htcondor_adapter = register(HTCondorAdapter())
