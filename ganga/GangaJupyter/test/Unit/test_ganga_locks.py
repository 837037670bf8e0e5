"""Ganga's session lock files as another session reads them: names, dead sessions, held ids, reaping.

The files are written as Ganga 8.7.12 writes them (a pickled set at the start of the file, never truncated, so
an older, longer pickle may follow), and read with Ganga's own ``SessionLockManager.session_read``.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time
import types
from datetime import datetime
from pathlib import Path

from GangaCore.Core.GangaRepository.SessionLock import SessionLockManager

from GangaJupyter.Lib.Session import ganga_locks
from GangaJupyter.Lib.Session.ganga_locks import GANGA_HOST, GangaSession


def session_name(pid: int, host: str = GANGA_HOST, when: datetime | None = None) -> str:
    stamp = (when or datetime.now()).strftime("%H.%M_%A_%d_%B_%Y")
    return ".".join([host, stamp, "PID", str(pid), "session"])


def write_locks(folder: Path, session: str, registry: str, ids: set[int], older: set[int] | None = None) -> None:
    path = folder / f"{session}.{registry}.locks"
    if older is not None:
        path.write_bytes(pickle.dumps(older))
    with open(path, "r+b" if path.exists() else "wb") as locks:  # Ganga's os.write at offset 0, no truncation
        locks.write(pickle.dumps(ids))


def sessionlock(folder: Path, own: str, registry: str = "jobs") -> types.SimpleNamespace:
    fake = types.SimpleNamespace(sdir=str(folder), gfn=str(folder / own), name=registry, afs=False, repo=None)
    fake._lock = threading.RLock()
    fake.session_read = types.MethodType(SessionLockManager.session_read, fake)
    return fake


def ended_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_session_name_is_read_from_the_right_a_host_may_have_dots():
    when = datetime(2026, 1, 5, 12, 0)
    session = GangaSession.from_name(session_name(4242, host="lxplus801.cern.ch", when=when))
    assert session == GangaSession(
        name=session_name(4242, host="lxplus801.cern.ch", when=when), host="lxplus801.cern.ch", pid=4242,
        started=when.timestamp(),
    )
    for not_ganga in ("global_lock", "x.session", "a.b.PID.x.session", "host.12.00_Monday.PID.1.locks"):
        assert GangaSession.from_name(not_ganga) is None


def test_a_session_of_this_host_whose_process_ended_is_dead_and_a_live_one_is_not():
    assert GangaSession.from_name(session_name(ended_pid())).dead()
    assert not GangaSession.from_name(session_name(os.getpid())).dead()  # this very process
    assert not GangaSession.from_name(session_name(os.getppid())).dead()


def test_a_reused_pid_is_dead_but_another_host_is_never_known_dead():
    long_ago = datetime.fromtimestamp(time.time() - 3600)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert GangaSession.from_name(session_name(child.pid, when=long_ago)).dead()  # the pid is a newer process
        assert not GangaSession.from_name(session_name(child.pid)).dead()
    finally:
        child.kill()
        child.wait()
    assert not GangaSession.from_name(session_name(ended_pid(), host="elsewhere.example")).dead()


def test_the_ids_held_by_others_are_read_as_ganga_writes_them(tmp_path: Path):
    own, other, gone = session_name(os.getpid()), session_name(os.getppid()), session_name(ended_pid())
    for name in (own, other):
        (tmp_path / name).touch()
    write_locks(tmp_path, own, "jobs", {1})
    write_locks(tmp_path, other, "jobs", {2, 3}, older={2, 3, 4, 5, 6, 7})  # a shorter pickle over a longer one
    write_locks(tmp_path, other, "jobs.metadata", {9})
    write_locks(tmp_path, gone, "jobs", {8})  # its session file is gone: Ganga ignores its locks
    (tmp_path / f"{session_name(4343)}.jobs.locks").write_bytes(pickle.dumps(["not", "a", "set"]))
    (tmp_path / session_name(4343)).touch()
    (tmp_path / f"{session_name(4444)}.jobs.locks").write_bytes(b"garbage")
    (tmp_path / session_name(4444)).touch()
    held = ganga_locks.held_by_others(sessionlock(tmp_path, own))
    assert sorted(held) == [2, 3] and held[2].pid == os.getppid()


def test_only_dead_sessions_of_this_host_are_reaped_with_all_their_locks(tmp_path: Path):
    dead, alive = session_name(ended_pid()), session_name(os.getppid())
    elsewhere = session_name(ended_pid(), host="elsewhere.example")
    for name in (dead, alive, elsewhere):
        (tmp_path / name).touch()
        for registry in ("jobs", "prep.metadata"):
            write_locks(tmp_path, name, registry, {1})
    write_locks(tmp_path, dead, "jobs", {4, 7})
    (tmp_path / "global_lock").touch()
    reaped, held = ganga_locks.reap_dead_sessions(sessionlock(tmp_path, session_name(os.getpid())))
    assert [s.name for s in reaped] == [dead] and held == {4, 7}  # its jobs, read before its locks went
    left = sorted(os.listdir(tmp_path))
    assert not [name for name in left if name.startswith(dead)]
    assert len([name for name in left if name.startswith(alive)]) == 3
    assert len([name for name in left if name.startswith(elsewhere)]) == 3 and "global_lock" in left
