"""Backend glue for Ganga's ``Slurm`` backend: status from Slurm itself (``squeue``/``sacct``), no 30 s floor on
a job's life, sbatch's refusals as clear errors, accounting figures in the job views (docs/slurm.rst)."""
from __future__ import annotations


def install() -> None:
    """Patch Ganga's ``Slurm`` class (idempotent)."""
    from . import ganga_patches

    ganga_patches.install()
