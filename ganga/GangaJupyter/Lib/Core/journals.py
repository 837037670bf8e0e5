"""Following the sessions' status journals (``<gangadir>/jupyter/sessions/*.events``): what each has appended
since the last read. The Jobs browser follows every journal; a session follows the others'.

A journal is another process's file: it is opened without following a symbolic link, read from where the last
read ended (from the start again once its session compacted it: a new inode, or shorter than what was read), a
line being written is left for the next read, a line longer than ``CHUNK`` is skipped, and a line that is not a
journal line gives no change (:func:`.protocol.parse_journal_line`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from .protocol import JOURNAL_SUFFIX, parse_journal_line

CHUNK = 8 * 1024 * 1024  # bytes read at a time; a line longer than this is skipped

Changes = dict[str, tuple[str, float]]  # fqid -> (status, time)


def by_job(changes: Changes) -> list[Changes]:
    """``changes`` per job (a job with its subjobs): jobs whose own status changed first, then those with fewer
    changes, so a small job's news never waits for a big split job's."""
    jobs: dict[str, Changes] = {}
    for fqid, change in changes.items():
        jobs.setdefault(fqid.split(".", 1)[0], {})[fqid] = change
    return sorted(jobs.values(), key=lambda job: (not any("." not in fqid for fqid in job), len(job)))


class JournalFollower:
    """What the journals in ``folder`` (but ``skip``) gained since the last :meth:`read`. With ``since``, changes
    made before that time are left out: a session that read the repository then has them from disk. (Following
    from the journals' end instead would lose the changes journaled between that read and the follower's start.)"""

    def __init__(self, folder: Path, skip: Path | None = None, since: float | None = None):
        self.folder = folder
        self.skip = skip
        self.since = since
        self._offsets: dict[Path, tuple[int, int]] = {}  # path -> (inode, bytes read)

    def paths(self) -> list[Path]:
        try:
            return [p for p in self.folder.glob(f"*{JOURNAL_SUFFIX}") if p != self.skip]
        except OSError:
            return []

    def read(self, paths: Iterable[Path] | None = None) -> dict[str, tuple[str, float]]:
        """The changes appended since the last call, ``fqid -> (status, time)``, the latest of each job by time."""
        changes: dict[str, tuple[str, float]] = {}
        for path in self.paths() if paths is None else paths:
            inode, offset = self._offsets.get(path, (0, 0))
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                self._offsets.pop(path, None)
                continue
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if info.st_ino != inode or info.st_size < offset:  # the session compacted its journal
                    offset = 0
                handle.seek(offset)
                while data := handle.read(CHUNK):
                    end = data.rfind(b"\n") + 1  # a line being written is read next time
                    if not end and len(data) < CHUNK:
                        break
                    offset += end or len(data)  # no newline in a whole chunk: part of an overlong line, skipped
                    handle.seek(offset)
                    for line in data[:end].splitlines():
                        for fqid, change in parse_journal_line(line).items():
                            if self.since is not None and change[1] < self.since:
                                continue
                            if fqid not in changes or change[1] >= changes[fqid][1]:
                                changes[fqid] = change
            self._offsets[path] = (info.st_ino, offset)
        return changes

    def forget(self, path: Path) -> None:
        """Stop following ``path`` (its session ended)."""
        self._offsets.pop(path, None)
