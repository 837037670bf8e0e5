"""Writing a split job's subjob index recomputes only the entries of subjobs written since it was last written."""
from __future__ import annotations

import functools
import os
import threading
from typing import Any, Callable

from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList
from GangaCore.Utility.logging import getLogger

from .patch import Wrap, WrapperPatch, ganga_source

logger = getLogger()

#: (job folder, subjob id) -> ((inode, ctime in ns) of the subjob's data file, its index entry then)
_entries: dict[tuple[str, int], tuple[tuple[int, int], dict[str, Any]]] = {}
_entries_lock = threading.Lock()


def _entry(subjobs: Any, sj_id: int) -> tuple[dict[str, Any], os.stat_result | None]:
    """Ganga's index entry of a loaded subjob (``getIndexCache``), reused while its data file is the one it was made
    from and the subjob has no change not yet written; and the data file's stat (None: not written yet)."""
    try:
        stat = os.stat(subjobs._SubJobXMLList__get_dataFile(sj_id))
    except OSError:
        return subjobs._registry.getIndexCache(subjobs[sj_id]), None
    key, stamp = (subjobs._jobDirectory, sj_id), (stat.st_ino, stat.st_ctime_ns)
    with _entries_lock:
        kept = _entries.get(key)
    if kept is not None and kept[0] == stamp and not getattr(subjobs._cachedJobs.get(sj_id), "_dirty", True):
        return dict(kept[1]), stat
    entry = subjobs._registry.getIndexCache(subjobs[sj_id])
    with _entries_lock:
        _entries[key] = (stamp, dict(entry))
    return entry, stat


def _reusing_entries(write_index: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write_index)
    def write_subjob_index(self, ignore_disk=False):
        from GangaCore.Core.GangaRepository.PickleStreamer import to_file

        ids = list(self._cachedJobs.keys()) if ignore_disk else list(range(len(self)))
        try:
            entries = {}
            for sj_id in ids:
                if sj_id not in self._cachedJobs and sj_id in self._subjobIndexData:
                    entries[sj_id] = self._subjobIndexData[sj_id]
                    continue
                entry, stat = _entry(self, sj_id)
                if stat is None:  # as Ganga, which stats the file it has just written
                    raise FileNotFoundError(self._SubJobXMLList__get_dataFile(sj_id))
                entry["modified"] = stat.st_ctime
                entries[sj_id] = entry
            with open(os.path.join(self._jobDirectory, self._subjob_master_index_name), "wb") as index:
                to_file(entries, index)
        except OSError as err:  # as Ganga: the index only makes later reads faster
            logger.debug("Can't write Index. Moving on as this is not essential to functioning: %s", err)

    return write_subjob_index


def _reusing_cached_data(get_all: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(get_all)
    def get_all_cached_data(self):
        from_index = len(self._subjobIndexData) == len(self)
        return [
            _entry(self, i)[0] if not from_index or self.isLoaded(i) else self._subjobIndexData[i]
            for i in range(len(self))
        ]

    return get_all_cached_data


class SubjobIndexReused(WrapperPatch):
    def still_needed(self) -> bool:
        source = ganga_source(SubJobXMLList, "_SubJobXMLList__really_writeIndex")
        return "self._registry.getIndexCache(self.__getitem__(sj_id))" in source


PATCH = SubjobIndexReused(
    name="subjob_index_reused",
    changes=(
        "GangaCore.Core.GangaRepository.SubJobXMLList.SubJobXMLList.write_subJobIndex, .getAllCachedData"
    ),
    why=(
        "Ganga 8.7.12 rewrites a split job's subjob index (``subjobs.idx``) at every write of the job, computing "
        "the entry of every loaded subjob again (``getIndexCache``, a few hundred attribute reads each), and the "
        "job's own index entry, made three times per write, computes them all again for its list of subjob "
        "statuses (``getAllCachedData``): one subjob's status change in a 100-subjob job costs 400 entries, most "
        "of the write, and the write holds the registry's flush lock that every "
        "other write and read of the session waits for. With each change written within a second (several "
        "notebooks on one gangadir), that is most of a busy session's time. An entry is now computed again only "
        "when its subjob's data file was written since (its inode and change time differ) or the subjob has "
        "changes not yet written; the index and the entries are the ones Ganga would make."
    ),
    wraps=(
        Wrap(SubJobXMLList, "write_subJobIndex", _reusing_entries),
        Wrap(SubJobXMLList, "getAllCachedData", _reusing_cached_data),
    ),
)
