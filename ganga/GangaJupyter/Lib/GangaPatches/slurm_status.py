"""Slurm jobs' status from Slurm itself (``squeue``/``sacct``), not only from the file Ganga's wrapper writes."""
from __future__ import annotations

import functools
from typing import Any, Callable

from GangaCore.Lib.Batch.Batch import Slurm

from ..Core import scheduler_record
from ..Slurm.adapter import slurm_adapter
from .patch import Wrap, WrapperPatch, ganga_source

#: Depths of GangaJupyter's wrappers of ``Slurm.resubmit`` (0 outermost).
RESUBMIT_REFUSAL_MESSAGE, RESUBMIT_FORGETS_RECORD = 0, 1


def _ask_slurm(read_status_files: Callable[[list[Any]], None]) -> Callable[[list[Any]], None]:
    @functools.wraps(read_status_files)
    def update_from_slurm(jobs: list[Any]) -> None:
        slurm_adapter.update(jobs)  # its monitor runs Batch's own status-file reading first

    return update_from_slurm


def _forget_previous_attempt(resubmit: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(resubmit)
    def resubmit_afresh(self):
        scheduler_record.clear(self.getJobObject())
        return resubmit(self)

    return resubmit_afresh


class SlurmStatus(WrapperPatch):
    def still_needed(self) -> bool:
        return "squeue" not in ganga_source(Slurm, "updateMonitoringInformation")


PATCH = SlurmStatus(
    name="slurm_status",
    changes="GangaCore.Lib.Batch.Batch.Slurm.updateMonitoringInformation, GangaCore.Lib.Batch.Batch.Slurm.resubmit",
    why=(
        "Ganga 8.7.12's ``Slurm`` backend learns a job's state only from the ``__jobstatus__`` file its wrapper "
        "writes: a job cancelled outside Ganga stays ``running`` until ``[Slurm] timeout`` (600 s), and one that "
        "dies before its wrapper writes stays ``submitted`` for ever. Ganga's own file reading still runs first; "
        "then one ``squeue`` per poll (``sacct`` for jobs that left the queue) decides for the jobs still active, "
        "and what Slurm said (pending reason, node, accounting) is kept in the job's scheduler record, which a "
        "resubmit clears (see :doc:`slurm`). Only the ``Slurm`` class changes; LSF, PBS and SGE share the code "
        "and are left as they are."
    ),
    wraps=(
        Wrap(Slurm, "updateMonitoringInformation", _ask_slurm),
        Wrap(Slurm, "resubmit", _forget_previous_attempt, depth=RESUBMIT_FORGETS_RECORD),
    ),
)
