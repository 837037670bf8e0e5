"""The Ganga session's side of the Jobs browser: it registers (and beats), journals its status changes, and
carries out the server's requests on a worker thread of its own (never in the user's namespace). The files and
their formats are :mod:`..Core.protocol`'s; Ganga is imported only where a request needs it, so the service's
file handling runs (and is tested) without a Ganga bootstrap.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from ..Core.actions import ActionResult
from ..Core.files import write_atomic
from ..Core.location import GangaLocation
from ..Core.protocol import (
    BEAT,
    HOST,
    JOURNAL_KEEP,
    JOURNAL_LIMIT,
    RELEASE,
    Request,
    SessionInfo,
    journal_line,
    journal_path,
    jupyter_folder,
    new_session_id,
    read_request,
    register,
    registration_path,
    request_files,
    write_reply,
)


class SessionService:
    """Serves the Jobs browser from inside the Ganga session that owns the gangadir."""

    def __init__(self, location: GangaLocation, role: str):
        self.location = location
        self.info = SessionInfo(sid=new_session_id(), pid=os.getpid(), host=HOST, role=role, started=time.time())
        self.sid = self.info.sid
        self.journal_path = journal_path(location, self.sid)
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

        requests = jupyter_folder(self.location, "requests", self.sid)  # a new gangadir: no server has made it yet
        jupyter_folder(self.location, "sessions")
        os.close(os.open(self.journal_path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600))
        self._token = status_events.subscribe(self._on_batch)
        self._start_watching(requests)
        self.beat()
        threading.Thread(target=self._serve, name="GangaJupyter-browser-requests", daemon=True).start()
        threading.Thread(target=self._heartbeat, name="GangaJupyter-browser-heartbeat", daemon=True).start()

    def beat(self) -> None:
        """Write (again) this session's registration: its mtime is the heartbeat readers check."""
        register(self.location, self.info)

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
        for path in (registration_path(self.location, self.sid), self.journal_path):
            path.unlink(missing_ok=True)
        try:
            for leftover in request_files(self.location, self.sid):
                leftover.unlink(missing_ok=True)
            (self.location.jupyter / "requests" / self.sid).rmdir()
        except OSError:
            pass  # not ours to empty (see protocol.private_folder), or gone already

    def _start_watching(self, requests: Path) -> None:
        """Wake the worker when a request file appears (inotify); it also looks every few seconds regardless."""
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        wake = self._wake

        class Wake(FileSystemEventHandler):
            def on_any_event(self, event):  # noqa: ANN001 (watchdog's API)
                wake.set()

        self._observer = Observer()
        self._observer.daemon = True
        self._observer.schedule(Wake(), str(requests), recursive=False)
        self._observer.start()

    # ----------------------------------------------------------------- status journal
    def _on_batch(self, batch: dict[str, tuple[str, float]]) -> None:
        """Append a batch of the event stream to the journal (on the stream's dispatcher thread). A batch with
        only scheduler-record changes has no status to journal."""
        if not batch:
            return
        with self._journal_lock:
            self._latest.update(batch)
            try:
                if self.journal_path.stat().st_size > JOURNAL_LIMIT:
                    recent = time.time() - JOURNAL_KEEP
                    self._latest = {fqid: change for fqid, change in self._latest.items() if change[1] >= recent}
                    write_atomic(self.journal_path, journal_line(self._latest))
                    return
                fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as journal:
                    journal.write(journal_line(batch))
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
        for path in request_files(self.location, self.sid):
            try:
                request = read_request(path)
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

    def _answer(self, request: Request) -> bool:
        """Carry out one request and write its reply; True when it asks this session to let the gangadir go."""
        if request.action == RELEASE:
            write_reply(self.location, request.rid, ActionResult.success("released"))
            self.released.set()
            return True
        from .actions import perform

        write_reply(self.location, request.rid, perform(request.action, request.job))
        return False


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
