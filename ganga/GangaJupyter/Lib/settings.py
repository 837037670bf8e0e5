"""The ``[Jupyter]`` configuration section: its options in one place, and reading them."""
from __future__ import annotations

from typing import Any

SECTION = "Jupyter"

#: name -> (default, documentation)
OPTIONS: dict[str, tuple[Any, str]] = {
    "page_size": (50, "Rows shown per page when a registry slice (jobs, subjobs, box) is displayed"),
    "stderr_tail_lines": (20, "Lines of stderr shown in the display of a failed job"),
    "default_kernel": ("python3", "Jupyter kernel that NotebookApp jobs use on the worker unless NotebookApp(kernel=...)"),
    "cell_timeout": (3600, "Seconds a NotebookApp cell may run on the worker unless NotebookApp(timeout=...)"),
    "worker_python": (
        "",
        "Python that runs NotebookApp jobs on the worker unless NotebookApp(python=...); empty: this Python for "
        "Local and Interactive, python3 from the worker's PATH elsewhere",
    ),
    "live_views": (True, "In a Jupyter kernel, display jobs and job slices as live views (widgets) that follow their status"),
    "fast_local_detection": (
        True,
        "See Local and Slurm jobs, and HTCondor jobs with spool=False, change state as soon as their status file "
        "(HTCondor: event log) changes (inotify), not at Ganga's "
        "next poll",
    ),
    "fast_detection_max_subjobs": (
        500,
        "Split jobs with more subjobs than this are left to Ganga's own poll: watching every subjob folder "
        "costs more than it saves",
    ),
    "short_ganga_errors": (
        True,
        "In a notebook, show Ganga's exceptions as their message (which names the problem) without the Python stack",
    ),
    "ganga_log_in_cells": (
        False,
        "In a notebook, print Ganga's log lines into the cells as plain Ganga does. Off: each job's messages are in "
        "its view, warnings and errors a cell caused are shown once in that cell, and %ganga_log shows the rest",
    ),
    "autostart_monitoring": (
        True,
        "Start Ganga's monitoring loop when GangaJupyter is activated in an IPython kernel (library mode leaves "
        "it off)",
    ),
}


def create_section() -> None:
    """Create ``[Jupyter]``; Ganga allows this only before it bootstraps."""
    from GangaCore.Utility.Config import makeConfig

    config = makeConfig(SECTION, "Settings of the GangaJupyter runtime package (Ganga in Jupyter notebooks)")
    for name, (default, doc) in OPTIONS.items():
        config.addOption(name, default, doc)


def option(name: str) -> Any:
    """The value of ``[Jupyter] name``, or its default when Ganga started before the section could be made or
    when the value set is of the wrong kind (see :func:`checked`)."""
    from GangaCore.Utility.Config import getConfig

    try:
        value = getConfig(SECTION)[name]
    except Exception:  # section missing: GangaJupyter was imported after Ganga bootstrapped
        return OPTIONS[name][0]
    return checked(name, value)


_warned: set[tuple[str, str]] = set()


def checked(name: str, value: Any) -> Any:
    """``value`` when it suits ``[Jupyter] name`` (the default's type; numbers at least 1), else the default, with
    one warning per bad value saying how to fix it: a typo in .gangarc must not break every display."""
    default = OPTIONS[name][0]
    if isinstance(default, bool):
        ok, what = isinstance(value, bool), "True or False"
    elif isinstance(default, int):
        ok, what = isinstance(value, int) and not isinstance(value, bool) and value >= 1, "a whole number of at least 1"
    else:
        ok, what = isinstance(value, str), "a string"
    if ok:
        return value
    if (name, repr(value)) not in _warned:
        _warned.add((name, repr(value)))
        from GangaCore.Utility.logging import getLogger

        getLogger().warning(
            "[Jupyter] %s = %.80r is not %s: using %r. Set it in .gangarc, or config['Jupyter']['%s'] = ...",
            name, value, what, default, name,
        )
    return default
