"""In a Jupyter kernel, jobs and job slices display as live views (``_ipython_display_``)."""
from __future__ import annotations

from GangaCore.GPIDev.Base.Proxy import GPIProxyObject
from GangaCore.GPIDev.Lib.Registry.RegistrySliceProxy import RegistrySliceProxy

from ..Widgets import ipython_display
from .patch import AttributePatch


class LiveDisplay(AttributePatch):
    def apply(self) -> None:
        super().apply()
        # the views' module imports anywidget and ipywidgets (~0.1 s): in the kernel's start, not in the first display
        from ..Widgets import live  # noqa: F401


PATCH = LiveDisplay(
    name="live_display",
    changes=(
        "GangaCore.GPIDev.Base.Proxy.GPIProxyObject._ipython_display_, "
        "GangaCore.GPIDev.Lib.Registry.RegistrySliceProxy.RegistrySliceProxy._ipython_display_"
    ),
    why=(
        "Ganga 8.7.12's objects have no rich display, let alone one that follows a job. In a Jupyter kernel, "
        "displaying a job or a job slice gives a live view (a widget that follows its status); anything else, or "
        "a view that cannot be built, falls back to the HTML of ``rich_display``."
    ),
    when="in a Jupyter kernel, when [Jupyter] live_views is on (Kernel/activation)",
    owners=(GPIProxyObject, RegistrySliceProxy),
    attribute="_ipython_display_",
    value=ipython_display,
)
