"""Slurm's adapter: its jobs' ``__jobstatus__`` (Ganga's Batch wrapper writes it) is watched, their update is Ganga's
status-file reading followed by Slurm's own word (:class:`.monitoring.SlurmMonitor`), and their scheduler record
is what Slurm said, kept in ``__scheduler__.json``."""
from __future__ import annotations

from typing import Any

from GangaCore.Core.exceptions import BackendError
from GangaCore.Lib.Batch.Batch import Batch

from ..Backends import BackendAdapter, register
from ..Backends.adapter import STATUS_FILE
from ..Core import scheduler_record
from ..Core.scheduler_record import SchedulerRecord
from .monitoring import SlurmMonitor
from .scheduler import SchedulerUnavailable


class SlurmAdapter(BackendAdapter):
    name = "Slurm"

    def __init__(self) -> None:
        # Batch's own status-file reading: Ganga's Slurm class gets the monitor's update in its place
        self.monitor = SlurmMonitor(Batch.__dict__["updateMonitoringInformation"].__func__)

    def watched_file(self, job: Any) -> str | None:
        return STATUS_FILE

    def update(self, jobs: list[Any]) -> None:
        self.monitor.update(jobs)

    def scheduler_record(self, job: Any) -> SchedulerRecord:
        return scheduler_record.read(job)

    def explain(self, error: BaseException) -> str:
        if isinstance(error, SchedulerUnavailable):
            return f"Slurm does not answer ({error}): check that slurmctld runs and that squeue works here"
        if isinstance(error, BackendError) and error.args:
            return str(error.args[0])  # already says what to fix (sbatch's refusals); without Ganga's class name
        return str(error)


slurm_adapter = register(SlurmAdapter())
