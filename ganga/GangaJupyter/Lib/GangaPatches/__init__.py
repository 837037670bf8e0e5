"""Every change GangaJupyter makes to Ganga's classes or configuration, one module per patch (docs/ganga-notes.rst
is generated from them). Each patch says what it changes and why, checks whether the installed Ganga still needs
it, and installs itself once; what it wires in (the Slurm monitor, the renderers, the views) lives in its own room.

Only the package's load hook and the kernel's activation import this room; it imports the rooms whose behaviour
it wires in (what it keeps about Ganga's submits and updates is in ``Monitor.submits`` and
``Monitor.update_guard``), so the dependency goes one way.
"""
from __future__ import annotations

from typing import Any

from .. import settings
from . import (
    after_submit,
    atomic_job_files,
    bounded_subjobs_text,
    calls_to_holder,
    flush_on_submit,
    foreign_reads_harmless,
    ganga_options,
    htcondor_output,
    index_placeholders_light,
    live_display,
    local_figures,
    monitor_held_jobs,
    multi_backend_scan,
    one_update_per_job,
    own_locks_kept,
    quiet_other_sessions,
    registry_find_by_id,
    rich_display,
    shareref_short_lock,
    short_errors,
    slurm_job_name,
    slurm_no_30s_floor,
    slurm_refusal_messages,
    slurm_status,
    status_hook,
    submit_failure_message,
    submit_race,
    subjob_index_reused,
    subjob_load_lock_order,
    unfinished_subjob_write,
    unix_lock_check_race,
    writes_only_held,
)
from .patch import Patch

#: What :func:`install_all` installs, in this order.
PATCHES: list[Patch] = [
    ganga_options.PATCH,
    unix_lock_check_race.PATCH,
    atomic_job_files.PATCH,
    index_placeholders_light.PATCH,
    registry_find_by_id.PATCH,
    htcondor_output.PATCH,
    status_hook.PATCH,
    quiet_other_sessions.PATCH,
    own_locks_kept.PATCH,
    writes_only_held.PATCH,
    foreign_reads_harmless.PATCH,
    subjob_load_lock_order.PATCH,
    subjob_index_reused.PATCH,
    unfinished_subjob_write.PATCH,
    shareref_short_lock.PATCH,
    monitor_held_jobs.PATCH,
    multi_backend_scan.PATCH,
    one_update_per_job.PATCH,
    local_figures.PATCH,
    after_submit.PATCH,
    flush_on_submit.PATCH,
    calls_to_holder.PATCH,
    submit_race.PATCH,
    submit_failure_message.PATCH,
    slurm_status.PATCH,
    slurm_no_30s_floor.PATCH,
    slurm_refusal_messages.PATCH,
    slurm_job_name.PATCH,
    bounded_subjobs_text.PATCH,
    rich_display.PATCH,
]

#: Installed by :func:`install_kernel_patches`, only in an IPython shell.
KERNEL_PATCHES: list[Patch] = [live_display.PATCH, short_errors.PATCH]


def install_all() -> None:
    """Install every patch the installed Ganga needs (``loadPlugins``; idempotent)."""
    for patch in PATCHES:
        patch.install()


def install_kernel_patches(shell: Any | None) -> None:
    """What an IPython shell adds: rich display (which ``loadPlugins`` installs too), live views in a Jupyter
    kernel when ``[Jupyter] live_views`` is on, short Ganga errors when ``[Jupyter] short_ganga_errors`` is on.
    With no shell, rich display alone."""
    rich_display.PATCH.install()
    if shell is None:
        return
    if settings.option("live_views") and getattr(shell, "kernel", None) is not None:
        live_display.PATCH.install()
    if settings.option("short_ganga_errors"):
        short_errors.PATCH.install()


def report() -> list[tuple[str, bool, bool]]:
    """``(name, still needed by the installed Ganga, installed now)`` of every patch."""
    return [(patch.name, patch.still_needed(), patch.installed()) for patch in PATCHES + KERNEL_PATCHES]
