"""Who acts on a gangadir: the one Ganga session that owns it, reached through files in ``<gangadir>/jupyter``.

Ganga locks each job for the session that writes it, and only the first session on a gangadir monitors. So the
Jupyter server never runs Ganga itself: every action goes to the owning session. A session that runs GangaJupyter
with monitoring on (a kernel after ``%load_ext GangaJupyter``, or the browser's helper process) registers here:

* ``sessions/<sid>.json``: who it is (pid, host, role);
* ``sessions/<sid>.events``: its status journal, one JSON line per batch of the event stream (the server overlays
  it on the repository files, which Ganga flushes only every 30 s);
* ``requests/<sid>/<rid>.json``: actions asked by the server, carried out by the session's own worker thread
  (never in the user's namespace) and answered in ``replies/<rid>.json``.

Files are written to a temporary name and renamed, so a reader sees whole files only. This module holds both
sides; the Ganga side imports Ganga lazily, so the server imports it without starting Ganga.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .location import GangaLocation

HOST = socket.gethostname()
JOURNAL_LIMIT = 4 * 1024 * 1024  # bytes before a journal is compacted to the latest status of each job


def write_json(path: Path, data: Any) -> None:
    """Write ``path`` atomically (a reader sees the old file or the whole new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host still runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


@dataclass(frozen=True)
class SessionInfo:
    sid: str
    pid: int
    host: str
    role: str  # "kernel" or "helper"
    started: float

    @property
    def alive(self) -> bool:
        return self.host != HOST or pid_alive(self.pid)  # another host's session cannot be checked: trust it


def registered_sessions(location: GangaLocation) -> list[SessionInfo]:
    """The GangaJupyter sessions registered on this gangadir that are still running, kernels first."""
    found = []
    for path in (location.jupyter / "sessions").glob("*.json"):
        try:
            info = SessionInfo(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue
        if info.alive:
            found.append(info)
    return sorted(found, key=lambda s: (s.role != "kernel", s.started))


def request_path(location: GangaLocation, sid: str, rid: str) -> Path:
    return location.jupyter / "requests" / sid / f"{rid}.json"


def reply_path(location: GangaLocation, rid: str) -> Path:
    return location.jupyter / "replies" / f"{rid}.json"


def send_request(location: GangaLocation, session: SessionInfo, action: str, job_id: int | None) -> str:
    """Queue an action for ``session``; returns the request id to wait for."""
    rid = uuid.uuid4().hex
    write_json(request_path(location, session.sid, rid), {"id": rid, "action": action, "job": job_id, "time": time.time()})
    return rid


def take_reply(location: GangaLocation, rid: str) -> dict[str, Any] | None:
    path = reply_path(location, rid)
    try:
        reply = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path.unlink(missing_ok=True)
    return reply


def release_helpers(location: GangaLocation, timeout: float = 60.0) -> list[int]:
    """Ask the browser's helper sessions on this gangadir to finish and wait until they have (a kernel is about to
    take the gangadir over). Returns the pids that were asked."""
    helpers = [s for s in registered_sessions(location) if s.role == "helper" and s.host == HOST]
    for helper in helpers:
        send_request(location, helper, "release", None)
    deadline = time.monotonic() + timeout
    while helpers and time.monotonic() < deadline and any(pid_alive(h.pid) for h in helpers):
        time.sleep(0.1)  # the helper flushes and releases Ganga's locks on its way out
    return [h.pid for h in helpers]


# ---------------------------------------------------------------------------------------------- the Ganga side
class SessionService:
    """Serves the Jobs browser from inside the Ganga session that owns the gangadir."""

    def __init__(self, location: GangaLocation, role: str):
        self.location = location
        self.role = role
        self.sid = f"{HOST}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        self.folder = location.jupyter / "sessions"
        self.requests = location.jupyter / "requests" / self.sid
        self.journal_path = self.folder / f"{self.sid}.events"
        self.last_request = time.monotonic()
        self.released = threading.Event()
        self._latest: dict[str, tuple[str, float]] = {}
        self._journal_lock = threading.Lock()
        self._wake = threading.Event()
        self._token: int | None = None
        self._observer: Any = None

    # ----------------------------------------------------------------- life cycle
    def start(self) -> None:
        from ..Monitor.events import status_events

        self.requests.mkdir(parents=True, exist_ok=True)
        self.folder.mkdir(parents=True, exist_ok=True)  # a new gangadir: no Jupyter server has made it yet
        self.journal_path.touch()
        self._token = status_events.subscribe(self._on_batch)
        self._start_watching()
        threading.Thread(target=self._serve, name="GangaJupyter-browser-requests", daemon=True).start()
        write_json(
            self.folder / f"{self.sid}.json",
            {"sid": self.sid, "pid": os.getpid(), "host": HOST, "role": self.role, "started": time.time()},
        )

    def stop(self) -> None:
        from ..Monitor.events import status_events

        if self._token is not None:
            status_events.unsubscribe(self._token)
        if self._observer is not None:
            self._observer.stop()
        for path in (self.folder / f"{self.sid}.json", self.journal_path):
            path.unlink(missing_ok=True)
        for leftover in self.requests.glob("*.json"):
            leftover.unlink(missing_ok=True)
        try:
            self.requests.rmdir()
        except OSError:
            pass

    def _start_watching(self) -> None:
        """Wake the worker when a request file appears (inotify); it also looks every few seconds regardless."""
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        wake = self._wake

        class Wake(FileSystemEventHandler):
            def on_any_event(self, event):  # noqa: ANN001 (watchdog's API)
                wake.set()

        self._observer = Observer()
        self._observer.daemon = True
        self._observer.schedule(Wake(), str(self.requests), recursive=False)
        self._observer.start()

    # ----------------------------------------------------------------- status journal
    def _on_batch(self, batch: dict[str, tuple[str, float]]) -> None:
        """Append a batch of the event stream to the journal (on the stream's dispatcher thread)."""
        with self._journal_lock:
            self._latest.update(batch)
            try:
                if self.journal_path.stat().st_size > JOURNAL_LIMIT:
                    tmp = self.journal_path.with_name(f".{self.journal_path.name}.tmp")
                    tmp.write_text(json.dumps({"changes": self._latest}) + "\n", encoding="utf-8")
                    os.replace(tmp, self.journal_path)
                    return
                with self.journal_path.open("a", encoding="utf-8") as journal:
                    journal.write(json.dumps({"changes": batch}) + "\n")
            except OSError:
                pass  # the gangadir went away; Ganga itself reports that

    # ----------------------------------------------------------------- requests
    def _serve(self) -> None:
        while not self.released.is_set():
            self._wake.wait(timeout=2.0)
            self._wake.clear()
            for path in sorted(self.requests.glob("*.json"), key=_mtime):
                try:
                    request = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                path.unlink(missing_ok=True)
                self.last_request = time.monotonic()
                try:
                    if self._answer(request):
                        return
                except Exception as err:  # one bad request must not stop this session serving the browser
                    from GangaCore.Utility.logging import getLogger

                    getLogger().warning("GangaJupyter: a Jobs browser request failed: %s", err)

    def _answer(self, request: dict[str, Any]) -> bool:
        """Carry out one request and write its reply; True when it asks this session to let the gangadir go."""
        if request.get("action") == "release":
            write_json(reply_path(self.location, request["id"]), {"ok": True, "message": "released"})
            self.released.set()
            return True
        from .actions import perform

        ok, message = perform(str(request.get("action")), request.get("job"))
        write_json(reply_path(self.location, request["id"]), {"ok": ok, "message": message})
        return False


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # taken meanwhile
        return 0.0


_service: SessionService | None = None


def ganga_location() -> GangaLocation:
    """The location of the repository of the Ganga session running in this process."""
    from GangaCore.Utility.Config import getConfig
    from GangaCore.Utility.files import expandfilename

    config = getConfig("Configuration")
    return GangaLocation(gangadir=Path(expandfilename(config["gangadir"], True)).resolve(), user=config["user"])


def start_service(role: str = "kernel") -> SessionService | None:
    """Serve the Jobs browser from this Ganga session (once per process); only the session that monitors may."""
    global _service
    if _service is not None:
        return _service
    from GangaCore.Utility.logging import getLogger

    try:
        service = SessionService(ganga_location(), role)
        service.start()
    except Exception as err:  # the notebook keeps working without the browser's link
        getLogger().warning("GangaJupyter: the Jobs browser cannot reach this session: %s", err)
        return None
    import atexit

    atexit.register(service.stop)
    _service = service
    return service
