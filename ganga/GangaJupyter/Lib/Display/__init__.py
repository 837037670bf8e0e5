"""Rich HTML display of Ganga objects: what ``_repr_html_`` of Ganga's proxy classes and registry slices returns
(the ``rich_display`` patch puts it there).

A renderer that fails returns None, so the front end falls back to the text form instead of showing a traceback.
"""
from __future__ import annotations

from typing import Any

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistrySlice
from GangaCore.GPIDev.Lib.Registry.RegistrySliceProxy import RegistrySliceProxy
from GangaCore.Utility.logging import getLogger

from .. import settings
from . import render

logger = getLogger()

_FILE_CATEGORY = "gangafiles"


def html_for(obj: Any) -> str | None:
    """The HTML for a Ganga proxy object or registry slice, or None when there is no rich form."""
    impl = stripProxy(obj)
    if isinstance(obj, RegistrySliceProxy):
        if isinstance(impl, JobRegistrySlice):
            return render.job_slice_html(impl, settings.option("page_size"))
        return render.table_html(impl, settings.option("page_size"))
    category = getattr(impl, "_category", None)
    if category == "jobs":
        return render.job_html(impl, settings.option("stderr_tail_lines"))
    if category == _FILE_CATEGORY:
        return render.files_html([impl])
    if _is_file_list(impl):
        return render.files_html([stripProxy(f) for f in impl])
    if getattr(impl, "_schema", None) is not None and category not in (None, "internal"):
        return render.object_html(impl)
    return None


def _is_file_list(impl: Any) -> bool:
    if getattr(impl, "_category", None) != "internal" or not hasattr(impl, "__iter__"):
        return False
    items = [stripProxy(i) for i in impl]
    return bool(items) and all(getattr(i, "_category", None) == _FILE_CATEGORY for i in items)


def repr_html(self: Any) -> str | None:
    """``_repr_html_`` of Ganga's proxies: :func:`html_for`, or None when it fails."""
    try:
        return html_for(self)
    except Exception:  # display must never raise into a notebook output
        logger.debug("GangaJupyter could not render %s as HTML", type(self).__name__, exc_info=True)
        return None
