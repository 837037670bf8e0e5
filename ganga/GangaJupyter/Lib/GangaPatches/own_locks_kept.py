"""Ganga's index checks never release a lock the session held before they ran."""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable

from GangaCore.Core.GangaRepository.GangaRepositoryXML import GangaRepositoryLocal

from .patch import Wrap, WrapperPatch, ganga_source

_checking = threading.local()  # the ids this thread's session held when an index check began


def _keeping_own_locks(check: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(check)
    def check_keeping_locks(self, *args, **kwargs):
        outer = getattr(_checking, "held", None)
        if outer is None:
            _checking.held = frozenset(self.sessionlock.locked)
        try:
            return check(self, *args, **kwargs)
        finally:
            if outer is None:
                _checking.held = None

    return check_keeping_locks


def _unlock_only_taken(unlock: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(unlock)
    def unlock_taken(self, ids):
        held = getattr(_checking, "held", None)
        if held:
            ids = [i for i in ids if i not in held]
            if not ids:
                return None
        return unlock(self, ids)

    return unlock_taken


class OwnLocksKept(WrapperPatch):
    def still_needed(self) -> bool:
        return "self.unlock(arr_k)" in ganga_source(GangaRepositoryLocal, "_write_master_cache")


PATCH = OwnLocksKept(
    name="own_locks_kept",
    changes=(
        "GangaCore.Core.GangaRepository.GangaRepositoryXML.GangaRepositoryLocal._write_master_cache, "
        "._check_index_cache, .unlock"
    ),
    why=(
        "To rewrite an index entry, Ganga 8.7.12's ``_write_master_cache`` and ``_check_index_cache`` lock the "
        "job, write, and unlock it, even when the session held the job's lock before: the session then no longer "
        "holds its own jobs, and another session may take them while they run. One session on a gangadir rarely "
        "gets there (at shutdown); with several, every index refresh does. During those two methods, ``unlock`` "
        "now leaves the locks the session held before they began."
    ),
    wraps=(
        Wrap(GangaRepositoryLocal, "_write_master_cache", _keeping_own_locks),
        Wrap(GangaRepositoryLocal, "_check_index_cache", _keeping_own_locks),
        Wrap(GangaRepositoryLocal, "unlock", _unlock_only_taken),
    ),
)
