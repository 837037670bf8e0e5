"""Ganga's own locks, as the other sessions on a gangadir hold them: who holds which job, and which sessions died.

Ganga keeps, per repository, ``<repository>/sessions/<host>.<HH.MM_Day_dd_Month_YYYY>.PID.<pid>.session`` (touched
every few seconds while the session lives) and one ``<that name>.<registry>.locks`` per registry, the pickled set
of ids it holds. Ganga trusts a session until its file has not been touched for ``DiskIOTimeout`` seconds; a
session of this host whose process has ended is dead at once, and :func:`reap_dead_sessions` removes its files as
Ganga's own reaper would later, so its jobs can be taken over within a second. Files written by another process
are input: a name that is not Ganga's, or a locks file that is not a set of ids, is skipped.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..Core.protocol import pid_alive

GANGA_HOST = os.uname()[1]  # what Ganga writes into its session names (socket.gethostname() may differ)
STARTED_SLACK = 120.0  # seconds: a pid whose process started this long after the session's minute was reused


@dataclass(frozen=True)
class GangaSession:
    """One Ganga session of a repository, as its session file names it."""

    name: str  # the file name, ending in ".session"
    host: str
    pid: int
    started: float  # the minute Ganga wrote into the name (local time), as a timestamp; 0 when unreadable

    @classmethod
    def from_name(cls, name: str) -> GangaSession | None:
        parts = name.split(".")
        if len(parts) < 6 or parts[-1] != "session" or parts[-3] != "PID" or not parts[-2].isdigit():
            return None
        try:
            started = datetime.strptime(".".join(parts[-5:-3]), "%H.%M_%A_%d_%B_%Y").timestamp()
        except ValueError:
            started = 0.0
        return cls(name=name, host=".".join(parts[:-5]), pid=int(parts[-2]), started=started)

    def dead(self) -> bool:
        """Whether this session is known to have ended: a process of this host that is gone, or whose pid now
        belongs to a process started after the session. A session of another host is never known dead here."""
        if self.host != GANGA_HOST or self.pid == os.getpid():
            return False
        if not pid_alive(self.pid):
            return True
        started = process_start(self.pid)
        return bool(self.started and started and started > self.started + STARTED_SLACK)


def process_start(pid: int) -> float | None:
    """When process ``pid`` of this host started (a timestamp), from /proc; None when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as proc_stat:
            ticks = int(proc_stat.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/stat", "rb") as system_stat:
            boot = next(int(line.split()[1]) for line in system_stat if line.startswith(b"btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def sessions_dir(sessionlock: Any) -> Path:
    return Path(sessionlock.sdir)


def own_session_name(sessionlock: Any) -> str:
    return os.path.basename(sessionlock.gfn)


def held_by_others(sessionlock: Any) -> dict[int, GangaSession]:
    """``id -> session`` for every id of this registry another live Ganga session holds."""
    held: dict[int, GangaSession] = {}
    folder, suffix = sessions_dir(sessionlock), f".{sessionlock.name}.locks"
    own = own_session_name(sessionlock)
    try:
        names = os.listdir(folder)
    except OSError:
        return held
    alive = {name for name in names if name.endswith(".session")}
    for name in names:
        if not name.endswith(suffix):
            continue
        session_name = name[: -len(suffix)]
        if session_name == own or session_name not in alive:
            continue  # Ganga ignores the locks of a session whose session file has gone (it removes them)
        session = GangaSession.from_name(session_name)
        ids = sessionlock.session_read(str(folder / name))  # Ganga's own reader: shared lock, pickle, 1 MB
        if session is None or not isinstance(ids, (set, frozenset)):
            continue
        for job_id in ids:
            if isinstance(job_id, int) and not isinstance(job_id, bool):
                held[job_id] = session
    return held


def dead_sessions(sessionlock: Any) -> tuple[list[GangaSession], list[str]]:
    """The dead sessions of this host, and the names in the sessions folder."""
    try:
        names = os.listdir(sessions_dir(sessionlock))
    except OSError:
        return [], []
    sessions = (GangaSession.from_name(name) for name in names if name.endswith(".session"))
    return [s for s in sessions if s is not None and s.dead()], names


def reap_dead_sessions(sessionlock: Any) -> tuple[list[GangaSession], set[int]]:
    """Remove the files of the dead sessions of this host (the session file and every registry's locks), as
    Ganga's own reaper does once they have not been touched for ``DiskIOTimeout`` seconds. Returns them, and the
    ids of this registry they held (read before their locks go: what they wrote last may be news to nobody)."""
    folder = sessions_dir(sessionlock)
    dead, names = dead_sessions(sessionlock)
    held: set[int] = set()
    suffix = f".{sessionlock.name}.locks"
    for session in dead:
        name = session.name
        if name + suffix in names:
            ids = sessionlock.session_read(str(folder / (name + suffix)))  # Ganga's own reader
            if isinstance(ids, (set, frozenset)):
                held.update(i for i in ids if isinstance(i, int) and not isinstance(i, bool))
        for leftover in names:
            if leftover == name or leftover.startswith(name + "."):
                try:
                    os.unlink(folder / leftover)
                except FileNotFoundError:
                    pass  # another live session reaped it first
    return dead, held


def lock_expiry() -> float:
    """Seconds after its last sign of life at which Ganga treats a session as dead (``DiskIOTimeout``, as Ganga
    read it when it started)."""
    from GangaCore.Core.GangaRepository import SessionLock

    return float(SessionLock.session_expiration_timeout)


def when_free(session: GangaSession) -> str:
    """When the jobs of ``session`` move to a live session once it has ended, in words."""
    if session.host == GANGA_HOST:
        return "within a second of its end"
    return (
        f"once Ganga's lock of that session expires (DiskIOTimeout: about {lock_expiry():.0f} s after its last "
        "sign of life)"
    )


def describe(session: GangaSession) -> str:
    since = time.strftime("%H:%M", time.localtime(session.started)) if session.started else "an unknown time"
    return f"pid {session.pid} on {session.host}, since {since}"
