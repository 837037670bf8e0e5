"""Sessions starting at the same moment on a new gangadir both pass Ganga's check of the file system's locks."""
from __future__ import annotations

import errno
import fcntl
import os
import time

import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml
import GangaCore.Core.GangaRepository.SessionLock as session_lock

from .patch import Patch


def dry_run_unix_locks(folder: str) -> None:
    """Ganga's check that ``flock`` works in ``<folder>/sessions``, with a test file of this process's own."""
    sessions = os.path.join(os.path.realpath(folder), "sessions")
    os.makedirs(sessions, exist_ok=True)
    test_file = os.path.join(sessions, f"test_lock.{os.getpid()}")
    with open(test_file, "w") as f_lock:
        while True:
            try:
                fcntl.flock(f_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as err:
                if err.errno != errno.EAGAIN:
                    raise
                time.sleep(0.1)
            finally:
                fcntl.flock(f_lock, fcntl.LOCK_UN)
    os.unlink(test_file)


class UnixLockCheckRace(Patch):
    def still_needed(self) -> bool:
        import inspect

        source = inspect.getsource(session_lock.dry_run_unix_locks)
        return "'test_lock'" in source and "exist_ok" not in source

    def installed(self) -> bool:
        return repository_xml.dry_run_unix_locks is dry_run_unix_locks

    def apply(self) -> None:
        repository_xml.dry_run_unix_locks = dry_run_unix_locks


PATCH = UnixLockCheckRace(
    name="unix_lock_check_race",
    changes="GangaCore.Core.GangaRepository.GangaRepositoryXML.dry_run_unix_locks",
    why=(
        "Before it starts a repository, Ganga 8.7.12 checks that the file system's locks work, with one shared "
        "file, ``sessions/test_lock``: two sessions starting at the same moment on a new gangadir race on making "
        "the ``sessions`` folder (``[Errno 17] File exists``) and on removing the file, and the loser stops with "
        "\"Unable to launch due to underlying filesystem not working with unix locks\", although they work. Opening "
        "several notebooks at once does that. The same check now makes the folder if it is missing and locks a "
        "test file of its own process."
    ),
)
