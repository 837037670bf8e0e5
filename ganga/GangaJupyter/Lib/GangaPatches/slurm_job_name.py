"""sbatch gets a job name that is safe inside the single quotes of Ganga's shell command."""
from __future__ import annotations

import functools
import re
from types import SimpleNamespace
from typing import Any, Callable

from GangaCore.Lib.Batch.Batch import Slurm

from .patch import Wrap, WrapperPatch, ganga_function, ganga_source

UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]")
MAX_NAME = 128  # a multi-megabyte name would otherwise go on sbatch's command line


def slurm_job_name(name: str) -> str:
    """``name`` as sbatch may get it inside single quotes in a shell command: only ``[A-Za-z0-9._-]``."""
    return UNSAFE_IN_NAME.sub("_", name)[:MAX_NAME]


def _safe_name(legal_name: Callable[[Any, Any], str]) -> Callable[[Any, Any], str]:
    @functools.wraps(legal_name)
    def safe_legal_name(self: Any, job: Any) -> str:
        return slurm_job_name(legal_name(self, job))  # after Ganga's own jobnamesubstitution

    return safe_legal_name


class SlurmJobName(WrapperPatch):
    def still_needed(self) -> bool:
        quoted = "\"'%s'\" % (tmp_name)" in ganga_source(Slurm, "submit")
        name = ganga_function(Slurm, "_getLegalJobName")(SimpleNamespace(config={}), SimpleNamespace(name="a'b"))
        return quoted and "'" in name


PATCH = SlurmJobName(
    name="slurm_job_name",
    changes="GangaCore.Lib.Batch.Batch.Slurm._getLegalJobName",
    why=(
        "Ganga 8.7.12 puts the job's name into sbatch's shell command as ``-J '<name>'``, so a name with ``'`` "
        "breaks the quoting (or runs what follows it). sbatch gets the name with the characters outside "
        "``[A-Za-z0-9._-]`` replaced and at most 128 long; the job keeps its name in Ganga."
    ),
    wraps=(Wrap(Slurm, "_getLegalJobName", _safe_name),),
)
