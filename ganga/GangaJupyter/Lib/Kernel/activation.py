"""Activation in an IPython kernel: ``%load_ext GangaJupyter``, or Ganga started with GangaJupyter in a kernel.

Both paths end in :func:`activate`: rich display installed, Ganga's monitoring loop running (library mode
leaves it off), and any problem told in the output of the cell that asked, with the fix.
"""
from __future__ import annotations

import sys
from typing import Any

from GangaCore.Utility.Config import getConfig

from .. import settings
from .notices import notify

RUNTIME_NAME = "GangaJupyter"

_activated = False
_shells: set[int] = set()


def running_kernel() -> Any | None:
    """The IPython shell of the running Jupyter kernel, or None outside a kernel."""
    ipython_mod = sys.modules.get("IPython")
    if ipython_mod is None:
        return None
    shell = ipython_mod.get_ipython()
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


def ganga_started() -> bool:
    return "ganga.ganga" in sys.modules


def gangajupyter_in_runtime() -> bool:
    from GangaCore.Utility.Runtime import allRuntimes

    return any(runtime.name == RUNTIME_NAME for runtime in allRuntimes.values())


def _start_ganga() -> None:
    """Start Ganga in library mode with GangaJupyter among its runtime packages."""
    configured = [p for p in getConfig("Configuration")["RUNTIME_PATH"].split(":") if p]
    if RUNTIME_NAME not in configured:
        getConfig("Configuration").setSessionValue("RUNTIME_PATH", RUNTIME_NAME)
    _release_jobs_browser_helper()
    import ganga.ganga  # noqa: F401  (the bootstrap; runs GangaJupyter's hooks, which call activate())


def _release_jobs_browser_helper() -> list[int]:
    """The Jobs browser's helper Ganga session, if it holds this gangadir, hands it over to this kernel (it
    flushes and ends), so this kernel becomes the session that monitors (see docs/jobs-browser.rst). Returns
    the pids of the helpers that ended."""
    from ..Core.location import LocationError, find_location
    from ..Core.protocol import release_helpers

    try:
        return release_helpers(find_location())
    except (LocationError, OSError):
        return []  # Ganga's own start reports an unusable configuration or gangadir


def _unwritable_gangadir() -> str:
    """Why the gangadir Ganga is configured with cannot be written ("" when it can, or cannot be found: then
    Ganga's own start says what is wrong)."""
    from ..Core.location import LocationError, find_location, unwritable

    try:
        gangadir = find_location().gangadir
    except (LocationError, OSError):
        return ""
    problem = unwritable(gangadir)
    return problem if not problem or problem.startswith(str(gangadir)) else f"{gangadir} cannot be made: {problem}"


def _gpi_names() -> dict[str, Any]:
    """What ``from ganga import *`` binds."""
    interface = sys.modules["ganga"]
    names = getattr(interface, "__all__", None) or [n for n in vars(interface) if not n.startswith("_")]
    return {name: getattr(interface, name) for name in names}


def _start_monitoring() -> None:
    """Monitoring on, and this session linked to the others on the gangadir: every kernel on a gangadir monitors
    the jobs it holds and follows the others' (docs/shared-gangadir.rst)."""
    from GangaCore.Core import monitoring_component
    from GangaCore.Core.InternalServices.Coordinator import enableMonitoringService

    from ..Session.service import start_service

    if monitoring_component is None:
        return
    linked = start_service("kernel")  # first: what the monitor changes from its first scan on is journaled
    if not monitoring_component.enabled:
        enableMonitoringService()
    if linked is not None:
        _tell_about_the_gangadir()


def _tell_about_the_gangadir() -> None:
    """What on the shared gangadir this notebook cannot use, and what to do about it (in the loading cell)."""
    from ..Core.protocol import unreadable_registrations
    from ..Session import ganga_locks, sharing

    for path, why in unreadable_registrations(sharing.ganga_location()):
        notify(
            f"GangaJupyter ignored {path}: it is not a session registration ({why}).",
            "Fix: delete the file; GangaJupyter sessions write their own registrations, and none needs this one.",
        )
    for session, (ids, (what, fix)) in sharing.unreachable_holders().items():
        shown = ", ".join(map(str, ids[:10])) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        notify(
            f"Jobs {shown} are held by a Ganga session that this notebook cannot reach "
            f"({ganga_locks.describe(session)}; {what}). This notebook shows them, but only that session monitors "
            "and changes them.",
            f"Fix: work with them in that session, or {fix}.",
        )


def activate(shell: Any | None = None) -> None:
    """Rich display, magics, short Ganga errors and monitoring for this IPython shell. Idempotent."""
    global _activated
    from ..GangaPatches import install_kernel_patches

    shell = shell or running_kernel()
    install_kernel_patches(shell)  # rich display; live views and short Ganga errors as [Jupyter] says
    if shell is not None and getattr(shell, "kernel", None) is not None:
        from . import ganga_log

        ganga_log.install(shell, in_cell=True)  # again after the bootstrap, which made Ganga's stderr handler
    if shell is not None and id(shell) not in _shells:
        _shells.add(id(shell))
        from .magics import register

        register(shell)
    if not _activated:
        _activated = True
        if settings.option("autostart_monitoring"):
            _start_monitoring()


def activate_in_running_kernel() -> None:
    """Ganga's post-bootstrap hook: activate when Ganga was started inside a Jupyter kernel."""
    if running_kernel() is not None:
        activate()


def load_extension(ipython: Any) -> None:
    if ganga_started() and not gangajupyter_in_runtime():
        from ..GangaPatches import install_kernel_patches

        install_kernel_patches(None)  # rich display alone: this Ganga has none of GangaJupyter's monitoring
        notify(
            "Ganga was already started in this kernel without GangaJupyter. Rich display is on, but GangaJupyter's "
            "job types are missing and monitoring was not started, because Ganga registers plugins only when it "
            "starts.",
            "Fix: restart the kernel and run %load_ext GangaJupyter before anything imports ganga, or add "
            "RUNTIME_PATH = GangaJupyter to the [Configuration] section of ~/.gangarc.",
        )
        ipython.push(_gpi_names())
        return
    if not ganga_started():
        if getattr(ipython, "kernel", None) is not None:
            from . import ganga_log

            ganga_log.install(ipython, in_cell=True)  # Ganga's start-up lines belong to no cell either
        problem = _unwritable_gangadir()
        if problem:
            notify(
                f"Ganga cannot start: the gangadir {problem}, and Ganga writes its jobs and locks there.",
                "Fix: make the gangadir writable for you (a read-only mount must be remounted read-write), or give "
                "Ganga a writable one ([Configuration] gangadir in ~/.gangarc), then restart the kernel.",
                level="error",
            )
            return
        try:
            _start_ganga()
        except Exception as err:  # a failed start is told in the cell, not as a traceback
            notify(
                f"Ganga could not start: {err}",
                "Check ~/.gangarc (or $GANGA_CONFIG_FILE) and that the gangadir is writable, then restart the kernel.",
                level="error",
            )
            return
    activate(ipython)
    ipython.push(_gpi_names())


def unload_extension(ipython: Any) -> None:
    notify(
        "Ganga cannot be unloaded from a running kernel; GangaJupyter stays active.",
        "Restart the kernel to start without it.",
        level="info",
    )
