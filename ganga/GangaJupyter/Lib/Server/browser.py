"""The Jobs browser in the Jupyter server: its settings, the live repository index, and the owning Ganga session.

The server never runs Ganga: it reads the repository (:mod:`.repository`, kept live by :mod:`.watch`) and asks
the Ganga session that owns the gangadir to act, through the files of :mod:`..Core.protocol`. When no session owns
it, the browser starts its own helper session (``python -m GangaJupyter.Lib.Session.helper``).
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from traitlets import Bool, Float, Unicode
from traitlets.config import LoggingConfigurable

from ..Core.actions import ActionResult
from ..Core.location import GangaLocation, LocationError, find_location
from ..Core.protocol import (
    HELPER_SAYS,
    RELEASE,
    SessionInfo,
    current_session,
    jupyter_folder,
    registered_sessions,
    send_request,
    take_reply,
)
from .repository import RepositoryIndex
from .runs import RunReader
from .watch import RepositoryWatch

HELPER_MODULE = "GangaJupyter.Lib.Session.helper"
HELPER_RETRY = 300.0  # seconds before the open page starts a helper again after one could not stay
HELPER_LOG_LIMIT = 1024 * 1024  # bytes of helper.log before the next helper starts a new one (one old log kept)
# ``python -m`` puts the working directory first on the import path: -P (Python 3.11+) leaves it out. Older
# Pythons rely on the working directory being the user's private <gangadir>/jupyter (see start_helper).
SAFE_PATH = ["-P"] if sys.version_info >= (3, 11) else []


def rotate_helper_log(log: Path) -> None:
    """Move ``log`` to ``<log>.1`` when it has grown past ``HELPER_LOG_LIMIT`` (each helper appends to it)."""
    try:
        if os.lstat(log).st_size > HELPER_LOG_LIMIT:
            os.replace(log, log.with_name(log.name + ".1"))
    except FileNotFoundError:
        pass


def last_words(log: Path, marker: str) -> str | None:
    """The text after ``marker`` on the last line of ``log`` that has it (only the log's tail is read)."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - 65536))
            tail = handle.read().decode(errors="replace")
    except OSError:
        return None
    said = [line for line in tail.splitlines() if marker in line]
    return said[-1].split(marker, 1)[1].strip() if said else None


class GangaJobsBrowser(LoggingConfigurable):
    """Settings of the Ganga Jobs browser (``c.GangaJobsBrowser.<name>`` in ``jupyter_server_config.py``)."""

    ganga_config_file = Unicode(
        "", config=True, help="Ganga configuration file to find the gangadir in (default: $GANGA_CONFIG_FILE or ~/.gangarc)"
    )
    monitor_without_kernel = Bool(
        True,
        config=True,
        help="While the page is open, jobs are active and no GangaJupyter kernel owns the gangadir, run the helper "
        "Ganga session so their statuses keep updating",
    )
    helper_idle = Float(300.0, config=True, help="Seconds the helper session stays without requests (no job active)")
    action_timeout = Float(120.0, config=True, help="Seconds an action may take in the owning Ganga session")
    notebook_folder = Unicode("", config=True, help="Folder (relative to the server root) for 'open in a notebook'")

    def __init__(self, root_dir: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.root_dir = Path(root_dir).expanduser().resolve()
        self.error = ""
        self.location: GangaLocation | None = None
        self.index: RepositoryIndex | None = None
        self.watch: RepositoryWatch | None = None
        self.runs: RunReader | None = None  # the subjobs' files of the jobs whose pictures the page shows
        self._helper: subprocess.Popen[bytes] | None = None
        self._helper_lock = threading.Lock()
        self._helper_ended = 0.0  # when the page first saw that the helper could not stay
        try:
            self.location = find_location(config_file=self.ganga_config_file)
        except LocationError as err:
            self.error = str(err)
            return
        self.index = RepositoryIndex(self.location)
        self.runs = RunReader(self.location, self.index.journal)
        self.watch = RepositoryWatch(self.index)
        self.watch.start()

    # ----------------------------------------------------------------- the owning session
    def helper_environment(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.ganga_config_file:
            env["GANGA_CONFIG_FILE"] = str(Path(self.ganga_config_file).expanduser())
        return env

    def start_helper(self) -> None:
        """Start the helper Ganga session unless one is starting or running (any thread)."""
        assert self.location is not None
        with self._helper_lock:
            if self._helper is not None and self._helper.poll() is None:
                return
            folder = jupyter_folder(self.location)  # the user's own (0700): a safe working directory
            rotate_helper_log(folder / "helper.log")
            fd = os.open(folder / "helper.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "ab") as out:
                self._helper = subprocess.Popen(
                    [sys.executable, *SAFE_PATH, "-m", HELPER_MODULE, f"--idle={self.helper_idle}"],
                    env=self.helper_environment(),
                    cwd=str(folder),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a Ctrl-C of the server must not interrupt Ganga mid-write
                )
            self.log.info("GangaJupyter: started the Jobs browser's Ganga session (pid %s)", self._helper.pid)

    async def owner(self, timeout: float = 120.0) -> SessionInfo:
        """The GangaJupyter session that owns the gangadir, starting the helper when there is none."""
        assert self.location is not None
        deadline = time.monotonic() + timeout
        started = False
        while time.monotonic() < deadline:
            sessions = registered_sessions(self.location)
            if sessions:
                return sessions[0]
            if not started:
                self.start_helper()
                started = True
            elif self._helper is not None and self._helper.poll() is not None:
                log = self.location.jupyter / "helper.log"
                reason = last_words(log, HELPER_SAYS) or "it could not start"
                raise RuntimeError(f"the Jobs browser's Ganga session ended: {reason} (log: {log})")
            await asyncio.sleep(0.1)  # Ganga takes a few seconds to start
        raise TimeoutError(f"no Ganga session took the gangadir within {timeout:.0f} s")

    def monitoring_wanted(self) -> bool:
        """Jobs are active and nobody monitors them, so the open page should ask for the helper (if allowed). A
        helper that could not stay (it ended with an error: its log says why) is not asked for again for
        ``HELPER_RETRY`` seconds; one that is running or starting needs no asking."""
        helper = self._helper
        if helper is not None and helper.poll() is None:
            return False
        if helper is not None and helper.poll() != 0:
            self._helper_ended = self._helper_ended or time.monotonic()
            if time.monotonic() - self._helper_ended < HELPER_RETRY:
                return False
            self._helper_ended = 0.0
        if not (self.monitor_without_kernel and self.index is not None and self.index.loaded.is_set()):
            return False
        try:
            return bool(self.index.active_count()) and not registered_sessions(self.location)
        except OSError:  # <gangadir>/jupyter is not the user's own: api/status and every action say so
            return False

    def ensure_monitoring(self) -> bool:
        """Start the helper when :meth:`monitoring_wanted` (the page's POST, never a GET); True when started."""
        if not self.monitoring_wanted():
            return False
        self.start_helper()
        return True

    async def act(self, action: str, job_id: int) -> ActionResult:
        """Carry out ``action`` in the owning session and return its reply."""
        assert self.location is not None
        session = await self.owner()
        rid = send_request(self.location, session, action, job_id)
        deadline = time.monotonic() + self.action_timeout
        while time.monotonic() < deadline:
            reply = take_reply(self.location, rid)
            if reply is not None:
                return reply
            if current_session(self.location, session.sid) is None:
                return ActionResult.error(f"the Ganga session {session.sid} ended before it answered; try again")
            await asyncio.sleep(0.05)
        return ActionResult.error(f"no answer from Ganga session {session.sid} within {self.action_timeout:.0f} s")

    # ----------------------------------------------------------------- paths
    def served_path(self, path: Path) -> str | None:
        """``path`` relative to the Jupyter server's root when the file browser can show it, else None."""
        try:
            return path.resolve().relative_to(self.root_dir).as_posix()
        except ValueError:
            return None

    def shutdown(self) -> None:
        """The server stops: stop watching, and let the helper this server started end cleanly (Ganga flushes)."""
        if self.watch is not None:
            self.watch.stop()
        if self.location is None or self._helper is None or self._helper.poll() is not None:
            return
        try:
            for session in registered_sessions(self.location):
                if session.pid == self._helper.pid:
                    send_request(self.location, session, RELEASE, None)
        except OSError as err:  # the other extensions still stop; the helper ends by itself once idle
            self.log.warning("GangaJupyter: cannot ask the Jobs browser's Ganga session to end: %s", err)
