"""A job's data file is replaced in one step: a session killed while it writes leaves the old file or the new."""
from __future__ import annotations

import contextlib
import inspect
import os

import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml
from GangaCore.GPIDev.Base.Proxy import stripProxy

from .patch import Patch

_ganga_safe_save = repository_xml.safe_save


def safe_save(fn, _obj, to_file, ignore_subs=""):
    """Ganga's ``safe_save`` (write ``<fn>.new``, keep the old file as ``<fn>~``) with no moment at which ``fn``
    is missing: the backup is a hard link made beside it, and the new file takes the name with one rename. Where
    the file system has no hard links, the backup is made as Ganga makes it."""
    with _ganga_safe_save.lock:  # Ganga's one lock for every writer of job files
        obj = stripProxy(_obj)
        repository_xml.check_app_hash(obj)
        os.makedirs(os.path.dirname(fn), exist_ok=True)
        new_name = fn + ".new"
        with open(new_name, "w") as tmpfile:
            to_file(obj, tmpfile, ignore_subs)
        if os.path.exists(fn):
            backup = fn + "~"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(backup + ".new")
            try:
                os.link(fn, backup + ".new")
            except OSError:  # a file system without hard links: Ganga's own backup, with its short window
                os.replace(fn, backup)
            else:
                os.replace(backup + ".new", backup)
        os.replace(new_name, fn)


safe_save.lock = _ganga_safe_save.lock


class AtomicJobFiles(Patch):
    def still_needed(self) -> bool:
        source = inspect.getsource(_ganga_safe_save)
        return "os.rename(fn, fn + \"~\")" in source

    def installed(self) -> bool:
        return repository_xml.safe_save is safe_save

    def apply(self) -> None:
        repository_xml.safe_save = safe_save


PATCH = AtomicJobFiles(
    name="atomic_job_files",
    changes="GangaCore.Core.GangaRepository.GangaRepositoryXML.safe_save",
    why=(
        "Ganga 8.7.12 writes a job's data file as ``data.new``, then renames ``data`` to ``data~`` and "
        "``data.new`` to ``data``: a session killed between the two renames leaves no ``data``, and the next "
        "session loads the backup, an older state of the job (a job killed during its submit came back without "
        "its name). The backup is now a hard link and the new file takes the name with one atomic rename, so "
        "``data`` is always the old job or the new one."
    ),
)
