"""Ganga's proxy objects and registry slices display as HTML (``_repr_html_``)."""
from __future__ import annotations

from GangaCore.GPIDev.Base.Proxy import GPIProxyObject
from GangaCore.GPIDev.Lib.Registry.RegistrySliceProxy import RegistrySliceProxy

from ..Display import render, repr_html
from .patch import AttributePatch


class RichDisplay(AttributePatch):
    def apply(self) -> None:
        super().apply()
        render.precompile()  # the first display of a notebook should not wait for the templates


PATCH = RichDisplay(
    name="rich_display",
    changes=(
        "GangaCore.GPIDev.Base.Proxy.GPIProxyObject._repr_html_, "
        "GangaCore.GPIDev.Lib.Registry.RegistrySliceProxy.RegistrySliceProxy._repr_html_"
    ),
    why=(
        "Ganga 8.7.12 defines no ``_repr_html_`` anywhere: a job is a text tree and ``jobs`` a fixed-width table. "
        "GangaJupyter adds one to Ganga's proxy base class (so every plugin proxy has it) and to registry slices; "
        "``text/plain`` stays Ganga's own. ``_repr_html_`` rather than an IPython formatter, because nbconvert, "
        "VS Code and other front ends call it directly."
    ),
    owners=(GPIProxyObject, RegistrySliceProxy),
    attribute="_repr_html_",
    value=repr_html,
)
