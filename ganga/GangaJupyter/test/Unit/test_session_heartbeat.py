"""A GangaJupyter session's registration is its heartbeat: rewritten every ``BEAT`` seconds by a thread of its
own (an action may keep the request worker busy for minutes), and gone for good once the session stops."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from GangaJupyter.Lib.Core import protocol
from GangaJupyter.Lib.Core.location import GangaLocation
from GangaJupyter.Lib.Session.service import SessionService


def test_a_session_beats_until_it_stops(tmp_path: Path) -> None:
    location = GangaLocation(gangadir=tmp_path / "gangadir", user="tester")
    service = SessionService(location, "kernel")
    service.start()
    registration = location.jupyter / "sessions" / f"{service.sid}.json"
    try:
        assert [s.sid for s in protocol.registered_sessions(location)] == [service.sid]
        long_ago = time.time() - 2 * protocol.STALE
        os.utime(registration, (long_ago, long_ago))
        assert protocol.registered_sessions(location) == [], "a registration that stopped beating still counted"
        deadline = time.monotonic() + 2 * protocol.BEAT
        while not protocol.registered_sessions(location) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [s.sid for s in protocol.registered_sessions(location)] == [service.sid], "the session did not beat"
        names = {t.name for t in threading.enumerate()}
        assert {"GangaJupyter-browser-requests", "GangaJupyter-browser-heartbeat"} <= names
    finally:
        service.stop()
    assert not registration.exists()
    time.sleep(protocol.BEAT + 1)
    assert not registration.exists(), "a stopped session registered itself again"
