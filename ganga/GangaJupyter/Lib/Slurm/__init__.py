"""Slurm's room for Ganga's ``Slurm`` backend: status from Slurm itself (``squeue``/``sacct``) and accounting
figures in the job views (docs/slurm.rst). The changes to Ganga's ``Slurm`` class that wire it in are patches
(``GangaPatches.slurm_*``)."""
from __future__ import annotations

from . import adapter  # noqa: F401  (registers Slurm's adapter)
