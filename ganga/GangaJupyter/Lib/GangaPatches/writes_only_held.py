"""A session writes only the jobs it holds: never another session's job over that session's newer write."""
from __future__ import annotations

import functools
from typing import Any, Callable

from GangaCore.Core.GangaRepository.GangaRepositoryXML import GangaRepositoryLocal
from GangaCore.Core.GangaRepository.Registry import Registry
from GangaCore.GPIDev.Lib.GangaList.GangaList import GangaList
from GangaCore.Core.GangaRepository.SessionLock import SessionLockManager
from GangaCore.Utility.logging import getLogger

from .patch import Wrap, WrapperPatch, ganga_source

logger = getLogger()


def held_ids(repository: Any, ids: list[int]) -> list[int]:
    """The ``ids`` this session may write: all of them without per-session locks (Ganga's ``FixedLockManager``,
    one session by construction, and every registry but ``jobs``), else the ones its session lock holds."""
    lock = getattr(repository, "sessionlock", None)
    if not isinstance(lock, SessionLockManager) or getattr(repository.registry, "name", "") != "jobs":
        return list(ids)
    return [i for i in ids if i in lock.locked]


def _held_only(flush: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(flush)
    def flush_held(self, ids):
        ids = list(ids)
        mine = held_ids(self, ids)
        if len(mine) != len(ids):
            logger.debug("GangaJupyter: not writing jobs %s, which another session holds", sorted(set(ids) - set(mine)))
        return flush(self, mine) if mine else None

    return flush_held


def _held_objects_only(flush: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(flush)
    def flush_held_objects(self, objs):
        repository = getattr(self, "repository", None)
        if repository is None:
            return flush(self, objs)
        kept = []
        for obj in objs if isinstance(objs, (list, tuple, GangaList)) else [objs]:
            try:
                if not held_ids(repository, [self.find(obj)]):
                    continue  # not even the job's lock is taken: another thread of this session may be reading it
            except Exception:  # not in this registry: Ganga's own error
                pass
            kept.append(obj)
        return flush(self, kept) if kept else None

    return flush_held_objects


class WritesOnlyHeld(WrapperPatch):
    def still_needed(self) -> bool:
        return "sessionlock" not in ganga_source(GangaRepositoryLocal, "flush")


PATCH = WritesOnlyHeld(
    name="writes_only_held",
    changes=(
        "GangaCore.Core.GangaRepository.Registry.Registry._flush, "
        "GangaCore.Core.GangaRepository.GangaRepositoryXML.GangaRepositoryLocal.flush"
    ),
    why=(
        "Ganga 8.7.12 writes every loaded job it finds marked changed (``_dirty``) at its 30 s flush and at "
        "shutdown, without checking that its session holds the job's lock. With one session per gangadir every "
        "changed job is held; with several, a job another session holds can be marked changed here too (reading it "
        "again from disk goes through the same setters), and the write puts this session's older copy over the "
        "holder's newer one: a job back to ``running`` on disk after its holder wrote ``completed``. "
        "``Registry._flush`` (before it takes the job's lock, so a thread reading another session's job again "
        "never waits for a write that will not happen) and ``GangaRepositoryLocal.flush`` of the ``jobs`` "
        "registry now write only the jobs this session's lock holds; the holder writes the others. Without per-session locks (Ganga's fixed lock, one session by "
        "construction) every job is written, as before."
    ),
    wraps=(Wrap(Registry, "_flush", _held_objects_only), Wrap(GangaRepositoryLocal, "flush", _held_only)),
)
