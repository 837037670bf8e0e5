"""Live views in a Jupyter kernel: displaying a job or a job slice gives a view that follows its status."""
from __future__ import annotations

from typing import Any

from GangaCore.GPIDev.Base.Proxy import GPIProxyObject, stripProxy
from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice
from GangaCore.GPIDev.Lib.Registry.RegistrySliceProxy import RegistrySliceProxy
from GangaCore.Utility.logging import getLogger

logger = getLogger()


def view_for(obj: Any):
    """A live view for a job or a job slice, or None for anything else."""
    from .live import LiveJobView, LiveSliceView

    impl = stripProxy(obj)
    if isinstance(impl, JobRegistrySlice):
        return LiveSliceView(obj)
    if getattr(impl, "_category", None) == "jobs":
        return LiveJobView(obj)
    return None


def _ipython_display_(self: Any) -> None:
    from IPython.display import display
    from IPython.lib.pretty import pretty

    try:
        view = view_for(self)
    except Exception:  # a live view that cannot be built falls back to the static display
        logger.debug("GangaJupyter could not build a live view", exc_info=True)
        view = None
    if view is not None:
        view.show()
        return
    html = self._repr_html_()
    display({"text/plain": pretty(self), **({"text/html": html} if html else {})}, raw=True)


def install_live_display() -> None:
    """Make jobs and job slices display as live views in this kernel."""
    GPIProxyObject._ipython_display_ = _ipython_display_
    RegistrySliceProxy._ipython_display_ = _ipython_display_
