"""Live views in a Jupyter kernel: displaying a job or a job slice gives a view that follows its status (the
``live_display`` patch makes :func:`ipython_display` the ``_ipython_display_`` of Ganga's proxies)."""
from __future__ import annotations

from typing import Any

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice
from GangaCore.GPIDev.Lib.Registry.BoxRegistry import BoxRegistrySlice
from GangaCore.Utility.logging import getLogger

from .. import settings
from ..Display.slice_text import slice_text

logger = getLogger()
TABLES = (JobRegistrySlice, BoxRegistrySlice)  # slices whose text is Ganga's table of every object


def view_for(obj: Any):
    """A live view for a job or a job slice, or None for anything else."""
    from .live import LiveJobView, LiveSliceView

    impl = stripProxy(obj)
    if isinstance(impl, JobRegistrySlice):
        return LiveSliceView(obj)
    if getattr(impl, "_category", None) == "jobs":
        return LiveJobView(obj)
    return None


def ipython_display(self: Any) -> None:
    """``_ipython_display_`` of Ganga's proxies: a live view of a job or job slice, else the static display."""
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
    impl = stripProxy(self)
    # jobs and box slices: Ganga's table, bounded; any other (tasks has an overview of its own) stays Ganga's text
    text = slice_text(impl, settings.option("page_size")) if isinstance(impl, TABLES) else pretty(self)
    display({"text/plain": text, **({"text/html": html} if html else {})}, raw=True)
