"""GangaJupyter: a Ganga runtime package that brings Ganga jobs into Jupyter notebooks.

Load it with ``RUNTIME_PATH = GangaJupyter`` in ``.gangarc``, or ``%load_ext GangaJupyter`` in a kernel.
Ganga looks up ``loadPlugins``, ``standardSetup`` and ``postBootstrapHook`` on this module; IPython looks
up ``load_ipython_extension``.
"""
from __future__ import annotations

import ganga  # noqa: F401  (puts site-packages/ganga on sys.path, so GangaCore is importable)

if __name__ != "GangaJupyter":
    # A second import name would define every plugin class twice in Ganga's registry.
    raise ImportError(f"import GangaJupyter as 'GangaJupyter', not as {__name__!r}")

from GangaCore.Utility.Config.Config import _after_bootstrap

from .Lib import settings

__version__ = "0.1.0"

if not _after_bootstrap:
    settings.create_section()  # Ganga refuses new config sections once it has bootstrapped


def standardSetup() -> None:
    """Ganga runtime hook; nothing to set up before the plugins load."""


def loadPlugins(config=None) -> None:
    """Ganga runtime hook: register GangaJupyter's plugin classes, patch Ganga where it still needs it, start
    fast detection."""
    from .Lib import HTCondor, Monitor, NotebookApp, Slurm  # noqa: F401  (defining the classes registers them with Ganga)
    from .Lib import GangaPatches

    GangaPatches.install_all()
    Monitor.install()


def postBootstrapHook() -> None:
    """Ganga runtime hook: when Ganga starts inside an IPython kernel, activate GangaJupyter there."""
    from .Lib.Kernel.activation import activate_in_running_kernel

    activate_in_running_kernel()


def load_ipython_extension(ipython) -> None:
    """``%load_ext GangaJupyter``: start Ganga with GangaJupyter loaded and set up the notebook."""
    from .Lib.Core.location import make_ganga_log_folders

    make_ganga_log_folders()  # before the kernel side imports Ganga's object model, which makes them
    from .Lib.Kernel.activation import load_extension

    load_extension(ipython)


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext GangaJupyter``: Ganga cannot be unloaded from a running process; say so."""
    from .Lib.Kernel.activation import unload_extension

    unload_extension(ipython)
