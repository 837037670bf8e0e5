"""How the Jupyter server and the Ganga sessions talk: files in ``<gangadir>/jupyter``, the same for all sides.

Ganga locks each job for the session that writes it. Every Ganga session with GangaJupyter on a gangadir (each
kernel after ``%load_ext GangaJupyter``, and the Jobs browser's helper process) monitors the jobs it holds and
follows the others (docs/shared-gangadir.rst); the Jupyter server never runs Ganga itself, and asks a session to
act. Each session registers here:

* ``sessions/<sid>.json``: who it is (pid, host, role), rewritten every ``BEAT`` seconds (its heartbeat);
* ``sessions/<sid>.events``: its status journal, one JSON line ``{"changes": {fqid: [status, time]}}`` per batch
  of the event stream (the server overlays it on the repository files, which Ganga flushes only every 30 s);
* ``requests/<sid>/<rid>.json``: actions asked by the server, and Ganga calls (``JOB_CALLS``) asked by another
  session on a job this one holds, answered in ``replies/<rid>.json``.

Files are written to a temporary name and renamed, so a reader sees whole files only. ``<gangadir>/jupyter`` and
its folders are the user's own (0700; a symbolic link or another user's folder is refused), files are read without
following symbolic links, and every id that becomes part of a path is checked first: see docs/security.rst. A
registration older than ``STALE`` seconds, or of a process of this host that has ended, or that is not a valid
registration, is ignored. Ganga-neutral: the server side (``Server``) and the session side (``Session``) both
build and parse every file through this module.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import socket
import stat
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

from .actions import ActionResult
from .errors import GangaJupyterError
from .files import write_atomic
from .location import GangaLocation

HOST = socket.gethostname()
JOURNAL_LIMIT = 4 * 1024 * 1024  # bytes before a journal is compacted to the latest status of each job
JOURNAL_KEEP = 600.0  # seconds a status stays in a compacted journal: Ganga's own files have it by then (30 s flushes)
JOURNAL_SUFFIX = ".events"
BEAT = 5.0  # seconds between a session's heartbeats (it rewrites its registration)
STALE = 3 * BEAT  # a registration not rewritten for this long belongs to a session that has gone
MAX_FILE = 64 * 1024  # bytes: registrations, requests and replies are a few hundred; a bigger one is not read
MAX_STATUS = 64  # characters of a journaled status kept (Ganga's longest is 16)
SID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # no "/", never "." or "..": safe as one path component
RID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex
FQID = re.compile(r"[0-9]{1,12}(\.[0-9]{1,12})*")  # a job's or subjob's id: "12", "12.3"
ROLES = ("kernel", "helper")
RELEASE = "release"  # the request that asks a helper session to let the gangadir go (a kernel wants it)
#: What this GangaJupyter speaks: 2 added the job calls one session routes to the session that holds the job.
PROTOCOL = 2
#: Ganga's own job methods, called in the session that holds the job for another session whose user called them.
JOB_CALLS = ("job.kill", "job.resubmit", "job.remove")
HELPER_SAYS = "GangaJupyter helper:"  # marks the lines of the helper's log the server quotes to the user

log = logging.getLogger(__name__)


class UnsafeFolderError(GangaJupyterError, PermissionError):
    """A folder of ``<gangadir>/jupyter`` is a symbolic link, or is not the user's; the message says what to do."""


# ---------------------------------------------------------------------------------------------- folders and files
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
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _stem(path: Path) -> str:
    return path.name[: -len(".json")]


# ---------------------------------------------------------------------------------------------- sessions
def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host still runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as proc_stat:
            return proc_stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def new_session_id() -> str:
    """A session id for this process: host, pid and a random part (a pid may be reused)."""
    host = re.sub(r"[^A-Za-z0-9-]+", "-", HOST).strip("-")[:64] or "host"
    return f"{host}.{os.getpid()}.{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class SessionInfo:
    """A session's registration: ``sessions/<sid>.json``."""

    sid: str
    pid: int
    host: str
    role: str  # "kernel" or "helper"
    started: float
    protocol: int = 1  # a registration without one is an older GangaJupyter's

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
        protocol = data.get("protocol", 1)
        if not isinstance(protocol, int) or isinstance(protocol, bool) or protocol < 1:
            raise ValueError(f"protocol {protocol!r} is not a protocol version")
        return cls(sid=sid, pid=pid, host=host, role=role, started=float(started), protocol=protocol)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def alive(self) -> bool:
        """Whether its process runs (checked on this host only; elsewhere the heartbeat decides)."""
        return self.host != HOST or pid_alive(self.pid)


def sessions_folder(location: GangaLocation) -> Path:
    """Where registrations and journals are (not checked: readers must not make the gangadir)."""
    return location.jupyter / "sessions"


def registration_path(location: GangaLocation, sid: str) -> Path:
    return sessions_folder(location) / f"{check_sid(sid)}.json"


def journal_path(location: GangaLocation, sid: str) -> Path:
    return sessions_folder(location) / f"{check_sid(sid)}{JOURNAL_SUFFIX}"


def register(location: GangaLocation, info: SessionInfo) -> None:
    """Write (again) ``info``'s registration: its mtime is the heartbeat readers check."""
    jupyter_folder(location, "sessions")
    write_atomic(registration_path(location, info.sid), json.dumps(info.to_json()))


def read_registration(path: Path) -> SessionInfo | None:
    """The session registered in ``path`` while it beats and (on this host) runs; None otherwise, and for a file
    that is no registration (logged at debug: whoever can write there can put anything)."""
    try:
        data, beat = load_json(path)
        info = SessionInfo.parse(data, _stem(path))
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


def unreadable_registrations(location: GangaLocation) -> list[tuple[Path, str]]:
    """The files of ``sessions/`` named like registrations that are none, and why (a reader ignores them)."""
    found = []
    if not os.path.lexists(location.jupyter):
        return found
    for path in jupyter_folder(location, "sessions").glob("*.json"):
        try:
            data, _ = load_json(path)
            SessionInfo.parse(data, _stem(path))
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as err:
            found.append((path, str(err) or type(err).__name__))
    return found


def current_session(location: GangaLocation, sid: str) -> SessionInfo | None:
    """Session ``sid`` while it is still registered, beating and running."""
    return read_registration(registration_path(location, sid))


# ---------------------------------------------------------------------------------------------- requests, replies
@dataclass(frozen=True)
class Request:
    """An action the server asks of a session: ``requests/<sid>/<rid>.json``."""

    rid: str
    action: str  # one of Core.actions.ACTIONS, JOB_CALLS or RELEASE; the session refuses any other
    job: Any  # the job's id or fqid ("12.3"), checked by the session that looks it up
    sent: float | None = None

    @classmethod
    def parse(cls, data: Any, name: str) -> Request:
        """The request ``data`` read from ``<name>.json``; ValueError when its id is not one, or not its name."""
        rid = check_rid(data.get("id") if isinstance(data, dict) else None)
        if rid != name:
            raise ValueError(f"its id {rid} is not its file name")
        sent = data.get("time")
        return cls(rid=rid, action=str(data.get("action")), job=data.get("job"), sent=float(sent) if _number(sent) else None)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.rid, "action": self.action, "job": self.job, "time": self.sent}


def request_path(location: GangaLocation, sid: str, rid: str) -> Path:
    return location.jupyter / "requests" / check_sid(sid) / f"{check_rid(rid)}.json"


def reply_path(location: GangaLocation, rid: str) -> Path:
    return location.jupyter / "replies" / f"{check_rid(rid)}.json"


def send_request(location: GangaLocation, session: SessionInfo, action: str, job_id: int | str | None) -> str:
    """Queue an action for ``session``; returns the request id to wait for."""
    request = Request(rid=uuid.uuid4().hex, action=action, job=job_id, sent=time.time())
    path = request_path(location, session.sid, request.rid)
    jupyter_folder(location, "requests", session.sid)
    write_atomic(path, json.dumps(request.to_json()))
    return request.rid


def request_files(location: GangaLocation, sid: str) -> list[Path]:
    """The requests waiting for session ``sid``, oldest first (its folder checked: never a symbolic link's)."""
    folder = jupyter_folder(location, "requests", check_sid(sid))
    return sorted(folder.glob("*.json"), key=_mtime)


def read_request(path: Path) -> Request:
    """The request in ``path``; raises OSError (FileNotFoundError when taken meanwhile) or ValueError."""
    data, _ = load_json(path)
    return Request.parse(data, _stem(path))


def write_reply(location: GangaLocation, rid: str, result: ActionResult) -> None:
    path = reply_path(location, rid)
    jupyter_folder(location, "replies")
    write_atomic(path, json.dumps(result.to_json()))


def take_reply(location: GangaLocation, rid: str) -> ActionResult | None:
    """The reply to request ``rid`` once it is there (None before); a reply that is not one is a failure."""
    path = reply_path(location, rid)
    jupyter_folder(location, "replies")  # never read or unlink through a planted symbolic link
    try:
        data, _ = load_json(path)
    except FileNotFoundError:
        return None  # not answered yet (and nothing to remove: the answer may be renamed there right now)
    except (OSError, ValueError) as err:
        path.unlink(missing_ok=True)  # a symbolic link there is removed itself, its target is not touched
        return ActionResult.error(f"the Ganga session's reply {path} is unreadable ({err}); try again")
    path.unlink(missing_ok=True)
    try:
        return ActionResult.from_json(data)
    except ValueError:
        return ActionResult.error(f"the Ganga session's reply {path} is not a reply ({str(data)[:200]}); try again")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # taken meanwhile
        return 0.0


def release_helpers(location: GangaLocation, timeout: float = 60.0) -> list[int]:
    """Ask the browser's helper sessions on this gangadir to finish and wait until they have (a kernel is about to
    take the gangadir over). Returns the pids that were asked."""
    helpers = [s for s in registered_sessions(location) if s.role == "helper" and s.host == HOST]
    for helper in helpers:
        send_request(location, helper, RELEASE, None)
    deadline = time.monotonic() + timeout
    while helpers and time.monotonic() < deadline and any(pid_alive(h.pid) for h in helpers):
        time.sleep(0.1)  # the helper flushes and releases Ganga's locks on its way out
    return [h.pid for h in helpers]


# ---------------------------------------------------------------------------------------------- journals
def journal_line(changes: Mapping[str, tuple[str, float]]) -> str:
    """One line of a status journal: ``{"changes": {fqid: [status, time]}}`` and a newline."""
    return json.dumps({"changes": {fqid: [status, when] for fqid, (status, when) in changes.items()}}) + "\n"


def parse_journal_line(line: bytes | str) -> dict[str, tuple[str, float]]:
    """The changes of one journal line, ``fqid -> (status, time)``; a line that is not one gives none, and each
    change that is not ``fqid: [status, time]`` (a job id, text, a finite number) is skipped."""
    try:
        changes = json.loads(line)["changes"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return {}
    if not isinstance(changes, dict):
        return {}
    found = {}
    for fqid, change in changes.items():
        if not (isinstance(change, list) and len(change) == 2 and FQID.fullmatch(fqid)):
            continue
        status, when = change
        if isinstance(status, str) and _number(when):
            found[fqid] = (status[:MAX_STATUS], float(when))
    return found
