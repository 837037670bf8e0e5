"""Who acts on a gangadir: the one Ganga session that owns it, reached through files in ``<gangadir>/jupyter``.

Ganga locks each job for the session that writes it, and only the first session on a gangadir monitors. So the
Jupyter server never runs Ganga itself: every action goes to the owning session. A session that runs GangaJupyter
with monitoring on (a kernel after ``%load_ext GangaJupyter``, or the browser's helper process) registers here:

* ``sessions/<sid>.json``: who it is (pid, host, role);
* ``sessions/<sid>.events``: its status journal, one JSON line per batch of the event stream (the server overlays
  it on the repository files, which Ganga flushes only every 30 s);
* ``requests/<sid>/<rid>.json``: actions asked by the server, carried out by the session's own worker thread
  (never in the user's namespace) and answered in ``replies/<rid>.json``.

Files are written to a temporary name and renamed, so a reader sees whole files only. ``<gangadir>/jupyter`` and
its folders are the user's own (0700; a symbolic link or another user's folder is refused), files are read without
following symbolic links, and every id that becomes part of a path is checked first: see docs/security.rst. A
session rewrites its registration every ``BEAT`` seconds; a registration older than ``STALE`` seconds, or of a
process of this host that has ended, or that is not a valid registration, is ignored. This module holds both
sides; the Ganga side imports Ganga lazily, so the server imports it without starting Ganga.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import socket
import stat
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..Core.files import write_atomic
from ..Core.location import GangaLocation

HOST = socket.gethostname()
JOURNAL_LIMIT = 4 * 1024 * 1024  # bytes before a journal is compacted to the latest status of each job
JOURNAL_KEEP = 600.0  # seconds a status stays in a compacted journal: Ganga's own files have it by then (30 s flushes)
BEAT = 5.0  # seconds between a session's heartbeats (it rewrites its registration)
STALE = 3 * BEAT  # a registration not rewritten for this long belongs to a session that has gone
MAX_FILE = 64 * 1024  # bytes: registrations, requests and replies are a few hundred; a bigger one is not read
SID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # no "/", never "." or "..": safe as one path component
RID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex
ROLES = ("kernel", "helper")

log = logging.getLogger(__name__)


class UnsafeFolderError(PermissionError):
    """A folder of ``<gangadir>/jupyter`` is a symbolic link, or is not the user's; the message says what to do."""


def private_folder(path: Path) -> Path:
    """``path`` as a folder only this user can use: made (0700) when missing, made 0700 when it is the user's,
    refused when it is a symbolic link, not a folder, or another user's (others could read or plant files)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeFolderError(
            f"{path} is a symbolic link or not a folder, so GangaJupyter does not use it for its session files. "
            "Remove it; GangaJupyter makes a private folder there again."
        )
    if info.st_uid != os.geteuid():
        raise UnsafeFolderError(
            f"{path} belongs to user id {info.st_uid}, not to you, so GangaJupyter does not use it for its session "
            "files. Have it removed (its owner or an administrator), or use a gangadir of your own."
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)  # made by an older GangaJupyter with the default 0755
    return path


def jupyter_folder(location: GangaLocation, *parts: str) -> Path:
    """``<gangadir>/jupyter/<parts...>``, each level checked (and made) by :func:`private_folder`."""
    path = private_folder(location.jupyter)
    for part in parts:
        path = private_folder(path / part)
    return path


def write_json(path: Path, data: Any) -> None:
    """Write ``path`` atomically in its folder, made or checked by :func:`private_folder` (that folder only)."""
    private_folder(path.parent)
    write_atomic(path, json.dumps(data))


def read_small(path: Path) -> tuple[bytes, float]:
    """The content and mtime of regular file ``path``, not following a symbolic link, without blocking on a FIFO.
    Raises OSError (FileNotFoundError when it is missing) or ValueError (not a regular file, or over MAX_FILE)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path.name} is not a regular file")
        if info.st_size > MAX_FILE:
            raise ValueError(f"{path.name} has {info.st_size} bytes, more than {MAX_FILE}")
        return handle.read(MAX_FILE + 1), info.st_mtime


def load_json(path: Path) -> tuple[Any, float]:
    """``path``'s JSON and mtime (see :func:`read_small`); raises OSError or ValueError."""
    content, mtime = read_small(path)
    if len(content) > MAX_FILE:
        raise ValueError(f"{path.name} grew over {MAX_FILE} bytes")
    return json.loads(content.decode("utf-8")), mtime


def check_sid(sid: Any) -> str:
    if not isinstance(sid, str) or not SID.fullmatch(sid):
        raise ValueError(f"{sid!r} is not a GangaJupyter session id")
    return sid


def check_rid(rid: Any) -> str:
    if not isinstance(rid, str) or not RID.fullmatch(rid):
        raise ValueError(f"{rid!r} is not a GangaJupyter request id")
    return rid


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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

    @classmethod
    def parse(cls, data: Any, name: str) -> SessionInfo:
        """The registration ``data`` read from ``sessions/<name>.json``; ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        sid, pid, host, role, started = (data.get(k) for k in ("sid", "pid", "host", "role", "started"))
        if check_sid(sid) != name:
            raise ValueError(f"session id {sid!r} is not its file name {name!r}")
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
            raise ValueError(f"pid {pid!r} is not a process id of a Ganga session")
        if not isinstance(host, str) or not 0 < len(host) <= 255:
            raise ValueError(f"host {host!r} is not a host name")
        if role not in ROLES:
            raise ValueError(f"role {role!r} is none of {', '.join(ROLES)}")
        if not _number(started):
            raise ValueError(f"started {started!r} is not a time")
        return cls(sid=sid, pid=pid, host=host, role=role, started=float(started))

    @property
    def alive(self) -> bool:
        """Whether its process runs (checked on this host only; elsewhere the heartbeat decides)."""
        return self.host != HOST or pid_alive(self.pid)


def read_registration(path: Path) -> SessionInfo | None:
    """The session registered in ``path`` while it beats and (on this host) runs; None otherwise, and for a file
    that is no registration (logged at debug: whoever can write there can put anything)."""
    try:
        data, beat = load_json(path)
        info = SessionInfo.parse(data, path.name[: -len(".json")])
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        log.debug("GangaJupyter: ignored the session registration %s: %s", path, err)
        return None
    if abs(time.time() - beat) > STALE or not info.alive:
        return None
    return info


def registered_sessions(location: GangaLocation) -> list[SessionInfo]:
    """The GangaJupyter sessions registered on this gangadir that are still running, kernels first. Raises
    UnsafeFolderError when ``<gangadir>/jupyter`` is not the user's own folder."""
    if not os.path.lexists(location.jupyter):
        return []  # no session has run here yet (and a GET must not make the gangadir)
    found = []
    for path in jupyter_folder(location, "sessions").glob("*.json"):
        info = read_registration(path)
        if info is not None:
            found.append(info)
    return sorted(found, key=lambda s: (s.role != "kernel", s.started))


def current_session(location: GangaLocation, sid: str) -> SessionInfo | None:
    """Session ``sid`` while it is still registered, beating and running."""
    return read_registration(location.jupyter / "sessions" / f"{check_sid(sid)}.json")


def request_path(location: GangaLocation, sid: str, rid: str) -> Path:
    return location.jupyter / "requests" / check_sid(sid) / f"{check_rid(rid)}.json"


def reply_path(location: GangaLocation, rid: str) -> Path:
    return location.jupyter / "replies" / f"{check_rid(rid)}.json"


def send_request(location: GangaLocation, session: SessionInfo, action: str, job_id: int | None) -> str:
    """Queue an action for ``session``; returns the request id to wait for."""
    rid = uuid.uuid4().hex
    path = request_path(location, session.sid, rid)
    jupyter_folder(location, "requests", session.sid)
    write_atomic(path, json.dumps({"id": rid, "action": action, "job": job_id, "time": time.time()}))
    return rid


def take_reply(location: GangaLocation, rid: str) -> dict[str, Any] | None:
    """The reply to request ``rid`` once it is there (None before); a reply that is not one is a failure."""
    path = reply_path(location, rid)
    jupyter_folder(location, "replies")  # never read or unlink through a planted symbolic link
    try:
        reply, _ = load_json(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        reply = {"ok": False, "message": f"the Ganga session's reply {path} is unreadable ({err}); try again"}
    path.unlink(missing_ok=True)  # a symbolic link there is removed itself, its target is not touched
    if not (isinstance(reply, dict) and isinstance(reply.get("ok"), bool) and isinstance(reply.get("message"), str)):
        got = str(reply)[:200]
        return {"ok": False, "message": f"the Ganga session's reply {path} is not a reply ({got}); try again"}
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
        host = re.sub(r"[^A-Za-z0-9-]+", "-", HOST).strip("-")[:64] or "host"
        self.sid = f"{host}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        self.folder = location.jupyter / "sessions"
        self.requests = location.jupyter / "requests" / self.sid
        self.journal_path = self.folder / f"{self.sid}.events"
        self.started = time.time()
        self.last_request = time.monotonic()
        self.released = threading.Event()
        self._latest: dict[str, tuple[str, float]] = {}
        self._journal_lock = threading.Lock()
        self._wake = threading.Event()
        self._token: int | None = None
        self._observer: Any = None
        self._problem = ""  # the last problem the worker logged, so it logs each once

    # ----------------------------------------------------------------- life cycle
    def start(self) -> None:
        from ..Monitor.events import status_events

        jupyter_folder(self.location, "requests", self.sid)  # a new gangadir: no Jupyter server has made them yet
        jupyter_folder(self.location, "sessions")
        os.close(os.open(self.journal_path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600))
        self._token = status_events.subscribe(self._on_batch)
        self._start_watching()
        self.beat()
        threading.Thread(target=self._serve, name="GangaJupyter-browser-requests", daemon=True).start()
        threading.Thread(target=self._heartbeat, name="GangaJupyter-browser-heartbeat", daemon=True).start()

    def beat(self) -> None:
        """Write (again) this session's registration: its mtime is the heartbeat readers check."""
        registration = {"sid": self.sid, "pid": os.getpid(), "host": HOST, "role": self.role, "started": self.started}
        write_atomic(jupyter_folder(self.location, "sessions") / f"{self.sid}.json", json.dumps(registration))

    def _heartbeat(self) -> None:
        """Beat apart from the worker, which may spend minutes on one action."""
        while not self.released.wait(BEAT):
            try:
                self.beat()
            except Exception as err:  # the gangadir went away for a while: beat again next time
                self._warn(f"GangaJupyter: the Jobs browser cannot reach this session: {err}")

    def stop(self) -> None:
        from ..Monitor.events import status_events

        self.released.set()  # ends the heartbeat, which would register this session again
        if self._token is not None:
            status_events.unsubscribe(self._token)
        if self._observer is not None:
            self._observer.stop()
        for path in (self.folder / f"{self.sid}.json", self.journal_path):
            path.unlink(missing_ok=True)
        try:
            for leftover in jupyter_folder(self.location, "requests", self.sid).glob("*.json"):
                leftover.unlink(missing_ok=True)
            self.requests.rmdir()
        except OSError:
            pass  # not ours to empty (see private_folder), or gone already

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
                    recent = time.time() - JOURNAL_KEEP
                    self._latest = {fqid: change for fqid, change in self._latest.items() if change[1] >= recent}
                    write_atomic(self.journal_path, json.dumps({"changes": self._latest}) + "\n")
                    return
                fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as journal:
                    journal.write(json.dumps({"changes": batch}) + "\n")
            except OSError:
                pass  # the gangadir went away; Ganga itself reports that

    # ----------------------------------------------------------------- requests
    def _serve(self) -> None:
        while not self.released.is_set():
            self._wake.wait(timeout=2.0)
            self._wake.clear()
            try:
                if self.serve_pending():
                    return
            except Exception as err:  # a broken gangadir must not end the worker: it tries again next time
                self._warn(f"GangaJupyter: the Jobs browser cannot reach this session: {err}")

    def serve_pending(self) -> bool:
        """Carry out the requests waiting in this session's folder, oldest first; True when one released the
        session. A file that is not a valid request is removed unanswered (logged once)."""
        folder = jupyter_folder(self.location, "requests", self.sid)  # never a symbolic link's files
        for path in sorted(folder.glob("*.json"), key=_mtime):
            try:
                request, _ = load_json(path)
                rid = check_rid(request.get("id") if isinstance(request, dict) else None)
                if rid != path.name[: -len(".json")]:
                    raise ValueError(f"its id {rid} is not its file name")
            except FileNotFoundError:
                continue
            except (OSError, ValueError) as err:
                path.unlink(missing_ok=True)
                self._warn(f"GangaJupyter: ignored a malformed Jobs browser request {path}: {err}")
                continue
            path.unlink(missing_ok=True)
            self.last_request = time.monotonic()
            try:
                if self._answer(request):
                    return True
            except Exception as err:  # one bad request must not stop this session serving the browser
                self._warn(f"GangaJupyter: a Jobs browser request failed: {err}")
        return False

    def _warn(self, message: str) -> None:
        if message != self._problem:
            self._problem = message
            from GangaCore.Utility.logging import getLogger

            getLogger().warning("%s", message)

    def _answer(self, request: dict[str, Any]) -> bool:
        """Carry out one request and write its reply; True when it asks this session to let the gangadir go."""
        reply = reply_path(self.location, request["id"])
        jupyter_folder(self.location, "replies")
        if request.get("action") == "release":
            write_atomic(reply, json.dumps({"ok": True, "message": "released"}))
            self.released.set()
            return True
        from .actions import perform

        ok, message = perform(str(request.get("action")), request.get("job"))
        write_atomic(reply, json.dumps({"ok": ok, "message": message}))
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
