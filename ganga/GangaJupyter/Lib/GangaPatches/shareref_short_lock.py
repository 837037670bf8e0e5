"""The shared-directory table (``prep`` registry) is locked only while a session changes it, and read first."""
from __future__ import annotations

import functools
import time
from typing import Any, Callable

from GangaCore.GPIDev.Lib.Registry.PrepRegistry import PrepRegistry, ShareRef

from .patch import Wrap, WrapperPatch, ganga_source


def _release_after_startup(startup: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(startup)
    def startup_unlocked(self):
        startup(self)
        shareref = getattr(self, "shareref", None)
        if shareref is not None and getattr(shareref, "_registry_locked", False):
            self.metadata._release_session_lock_and_flush(shareref)

    return startup_unlocked


#: Seconds a session waits for another to finish its change of the table (a change takes milliseconds).
WAIT = 30.0


def _read_after_locking(get_lock: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(get_lock)
    def lock_and_read(self, root=None):
        from GangaCore.Core.GangaRepository import RegistryLockError

        was_locked = getattr(self, "_registry_locked", False)
        deadline = time.monotonic() + WAIT
        while True:
            try:
                get_lock(self, root)
                break
            except RegistryLockError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # another session is changing the table right now
        registry = self._registry
        if not was_locked and registry is not None:
            with registry._flush_lock, registry._read_lock:
                registry.repository.load([registry.find(self)])  # another session may have changed it

    return lock_and_read


class ShareRefShortLock(WrapperPatch):
    def still_needed(self) -> bool:
        source = ganga_source(PrepRegistry, "startup")
        return "self.metadata._add(" in source and "_release_session_lock" not in source


PATCH = ShareRefShortLock(
    name="shareref_short_lock",
    changes="GangaCore.GPIDev.Lib.Registry.PrepRegistry.PrepRegistry.startup, ShareRef._getSessionLock",
    why=(
        "The first Ganga 8.7.12 session on a new gangadir creates the shared-directory table (``prep.metadata`` "
        "object 0) and keeps its lock until it ends, so every other session's ``submit()`` of a prepared "
        "application fails with ``RegistryLockError: Could not lock 'prep.metadata' object #0``. Ganga's own "
        "``ShareRef.increase`` and ``decrease`` already lock, change and release the table; its creator now "
        "releases it after start-up too; a session waits while another holds it (for a change, which takes "
        "milliseconds), and reads the table from disk when it takes the lock, so it never writes back another "
        "session's stale counts."
    ),
    wraps=(
        Wrap(PrepRegistry, "startup", _release_after_startup),
        Wrap(ShareRef, "_getSessionLock", _read_after_locking),
    ),
)
