"""Loading a subjob takes its job's lock before the subjob list's own, as every other path does."""
from __future__ import annotations

import functools
from typing import Any, Callable

from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList

from .patch import Wrap, WrapperPatch, ganga_source


def _root_lock_first(get_item: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(get_item)
    def get_item_root_lock_first(self, index):
        parent = getattr(self, "_definedParent", None)
        if parent is None or index in self._cachedJobs:
            return get_item(self, index)
        with parent._getRoot()._lock:  # an RLock: a thread that holds it already goes on
            return get_item(self, index)

    return get_item_root_lock_first


class SubjobLoadLockOrder(WrapperPatch):
    def still_needed(self) -> bool:
        source = ganga_source(SubJobXMLList, "_getItem")
        return "with self._load_lock" in source and "_getRoot()._lock" not in source


PATCH = SubjobLoadLockOrder(
    name="subjob_load_lock_order",
    changes="GangaCore.Core.GangaRepository.SubJobXMLList.SubJobXMLList._getItem",
    why=(
        "Ganga 8.7.12 loads a subjob from disk holding the subjob list's ``_load_lock`` and then takes the job's "
        "lock (``_setFlushed``, ``_setParent``), while a job method that holds the job's lock and reads its "
        "subjobs takes them the other way round: two threads reading one split job's subjobs at the same moment "
        "can deadlock, and the notebook's cells never finish. With several sessions it happens when a job another "
        "session changed is read again from disk while a view or the monitor reads its subjobs. Loading a subjob "
        "now takes the job's lock first."
    ),
    wraps=(Wrap(SubJobXMLList, "_getItem", _root_lock_first),),
)
