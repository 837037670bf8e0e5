"""A job read from Ganga's index at start-up is a placeholder made without the defaults it would throw away."""
from __future__ import annotations

import functools
from typing import Any, Callable

from GangaCore.Core.GangaRepository.GangaRepository import GangaRepository
from GangaCore.GPIDev.Base.Objects import Node
from GangaCore.Utility.Plugin import allPlugins

from .patch import Wrap, WrapperPatch, ganga_source

#: What Ganga's ``_make_empty_object_`` does that this patch leaves out: flushing every attribute of a
#: placeholder that has none, which builds each attribute's default value (an application, a backend, lists)
#: and throws it away.
GANGA_FLUSH = "obj._setFlushed()"


def _light(make: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(make)
    def make_empty_object(self, this_id, category, classname):
        compound_name = str(category + "_" + classname)
        if compound_name not in self._found_classes:
            self._found_classes[compound_name] = allPlugins.find(category, classname)
        obj = self._found_classes[compound_name].getNew(should_load=True)
        obj._data = {}
        Node._setFlushed(obj)  # nothing below it to flush: it has no attributes yet (Ganga made each default)
        self._internal_setitem__(this_id, obj)
        return obj

    return make_empty_object


class IndexPlaceholdersLight(WrapperPatch):
    def still_needed(self) -> bool:
        return GANGA_FLUSH in ganga_source(GangaRepository, "_make_empty_object_")


PATCH = IndexPlaceholdersLight(
    name="index_placeholders_light",
    changes="GangaCore.Core.GangaRepository.GangaRepository.GangaRepository._make_empty_object_",
    why=(
        "At start-up Ganga 8.7.12 reads every job's index entry into a placeholder object, and marks it flushed "
        "with ``_setFlushed()``, which reads each schema attribute of the empty placeholder: every read builds "
        "the attribute's default (an ``Executable``, a ``Local``, lists) and throws it away. On a 10,000-job "
        "repository that was most of the ~29 s Ganga took to start. The placeholder is now marked flushed "
        "itself (it has no attributes to flush); everything else is Ganga's own code, and the same jobs are read."
    ),
    wraps=(Wrap(GangaRepository, "_make_empty_object_", _light),),
)
