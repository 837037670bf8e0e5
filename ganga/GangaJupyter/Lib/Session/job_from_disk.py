"""Read a job another session wrote again from disk, in one swap, while cells and Ganga's monitor may read it.

Ganga's ``GangaRepositoryXML.load`` copies a reloaded job's attributes into it one at a time
(``_parse_xml``): in between, ``j.subjobs`` is an empty list and ``j.status`` is None, and a cell on the main
thread, or Ganga's monitor, reading the job then sees it half read (a ``TypeError`` in the cell, a
``JobStatusError ... to "None"`` in the monitor). Here the file is parsed aside and the job's whole data dict is
replaced in one assignment: a reader sees the job as it was or as it is, never between.
"""
from __future__ import annotations

import os
import time
from typing import Any

from GangaCore.Core.GangaRepository import InaccessibleObjectError
from GangaCore.Core.GangaRepository.SubJobXMLList import SubJobXMLList
from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.GPIDev.Lib.GangaList.GangaList import GangaList
from GangaCore.Utility.external.OrderedDict import OrderedDict

OPEN_TRIES, OPEN_PAUSE = 10, 0.01  # a data file missing between Ganga's two renames is waited for up to 0.1 s
#: (repository, job id) -> the identity of the data file last read (see :func:`_identity`)
_read_as: dict[tuple[int, int], tuple[int, int, int]] = {}


def read_again(repository: Any, job_id: int) -> None:
    """Read job ``job_id`` again from disk, unless the copy in memory is what is there. Raises KeyError when its
    folder is gone (removed by the session that held it), InaccessibleObjectError when its data cannot be read
    (half written by a session that died, or being written now); the copy in memory is then left as it was."""
    obj = repository.objects[job_id]
    if repository.isObjectLoaded(obj) and copy_is_current(repository, job_id):
        return
    data_file = repository.get_fn(job_id)
    stream = _open_data(repository, job_id, data_file)
    with stream:
        seen = _identity(os.fstat(stream.fileno()))  # the file opened, whatever replaces it while it is parsed
        parsed, errors = repository.from_file(stream)
    if errors:
        raise InaccessibleObjectError(repository, job_id, errors[0])
    obj._data = _whole_data(repository, obj, parsed, os.path.dirname(data_file))  # the swap: one assignment
    _read_as[(id(repository), job_id)] = seen
    repository._load_timestamp[job_id] = seen[1] / 1e9
    repository._fully_loaded.setdefault(job_id, obj)
    if job_id in repository.incomplete_objects:
        repository.incomplete_objects.remove(job_id)  # readable now: no longer Ganga's "incomplete" object
    obj._index_cache = {}
    obj._setFlushed()
    _subjobs_view_follows(obj)


def _open_data(repository: Any, job_id: int, data_file: str) -> Any:
    """The job's data file, open. Ganga replaces it by two renames, between which it is missing: a missing file
    is waited for a little while the job's folder is there, and is a removal only when the folder is gone."""
    for _ in range(OPEN_TRIES):
        try:
            return open(data_file)
        except FileNotFoundError:
            if not os.path.isdir(os.path.dirname(data_file)):
                raise KeyError(job_id) from None
            time.sleep(OPEN_PAUSE)
    raise InaccessibleObjectError(repository, job_id, f"{data_file} stayed missing while its folder is there")


def _identity(stat: os.stat_result) -> tuple[int, int, int]:
    """What tells one version of a file from the next: a rename puts a new inode in its place, and two writes in
    one tick of the file system's clock may share a ctime."""
    return stat.st_ino, stat.st_ctime_ns, stat.st_size


def _whole_data(repository: Any, obj: Any, parsed: Any, folder: str) -> dict[str, Any]:
    """The job's new data dict, as ``_parse_xml`` would leave it: what the file has, schema defaults for what it
    lacks, and the subjobs, read lazily from their folders as Ganga does."""
    schema = obj._schema
    data = dict(parsed._data)
    for name, _item in schema.allItems():
        if name not in data:
            data[name] = schema.getDefaultValue(name)
    split = repository.sub_split
    if split and schema.hasAttribute(split):
        if SubJobXMLList.checkJobHasChildren(folder, repository.dataFileName):
            subjobs = SubJobXMLList(folder, repository.registry, repository.dataFileName, False, obj)
            subjobs._setParent(obj)
            data[split] = subjobs
        elif schema.getDefaultValue(split) == []:
            data[split] = GangaList()
    return data


def copy_is_current(repository: Any, job_id: int) -> bool:
    """Whether nothing was written to the job's files since this module read it: its data file is the very file
    read (inode, ctime and size) and no subjob's file is newer (a write cut short writes the subjobs first)."""
    seen = _read_as.get((id(repository), job_id))
    data = repository.get_fn(job_id)
    try:
        if seen is None or _identity(os.stat(data)) != seen:
            return False
        with os.scandir(os.path.dirname(data)) as entries:
            for entry in entries:
                if entry.name.isdigit() and entry.is_dir():
                    try:
                        if os.stat(os.path.join(entry.path, repository.dataFileName)).st_ctime_ns > seen[1]:
                            return False
                    except FileNotFoundError:
                        continue  # a subjob folder being made or removed: its index says which
    except OSError:
        return False
    return True


def _subjobs_view_follows(obj: Any) -> None:
    """Ganga caches the slice ``j.subjobs`` returns and refills it only when the count changes: point it at the
    subjobs just read, in one assignment (a cell iterating it sees the old subjobs or the new, never none)."""
    cached = getattr(obj, "_stored_subjobs_proxy", None)
    if cached is None:
        return
    subjobs = obj.subjobs
    fresh = OrderedDict((sj.id, sj) for sj in subjobs) if isinstance(subjobs, (list, GangaList)) else subjobs
    stripProxy(cached).objects = fresh
