"""The Ganga session's side of the gangadir it shares: it registers (and beats), writes its status changes to disk
and journals them, and carries out the requests of the Jobs browser and of the other sessions on a worker thread of
its own (never in the user's namespace). The files and their formats are :mod:`..Core.protocol`'s; Ganga is
imported only where a request needs it, so the service's file handling runs (and is tested) without a Ganga
bootstrap.
"""
from __future__ import annotations

import functools
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from ..Core.actions import ActionResult
from ..Core.files import write_atomic
from ..Core.journals import by_job
from ..Core.location import GangaLocation
from ..Core.protocol import (
    BEAT,
    HOST,
    JOB_CALLS,
    JOURNAL_KEEP,
    JOURNAL_LIMIT,
    PROTOCOL,
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


#: Writes the jobs of these changes; False when a job was busy and is to be written later (None: written).
Flush = Callable[[Iterable[str]], "bool | None"]

#: Seconds between two writes of the jobs that changed with no change of status (a name set in a cell).
CHANGED_EVERY = 0.5
#: Seconds between two writes of a split job whose subjobs alone changed (a 100-subjob job takes 0.1-0.5 s).
SUBJOBS_EVERY = 0.5
#: Seconds between two looks at the changes left for later (a job that was busy, subjob changes gathered).
RETRY_EVERY = 0.1


class SessionService:
    """A Ganga session's link to the others on its gangadir and to the Jobs browser. ``flush(fqids)`` writes the
    jobs of a batch of this session's changes to disk before they are journaled, so a reader of the journal finds
    them on disk; ``flush_changed()`` writes, twice a second, the jobs that changed with no change of status."""

    def __init__(
        self, location: GangaLocation, role: str, flush: Flush | None = None, flush_changed: Callable[[], None] | None = None
    ):
        self.location = location
        self.info = SessionInfo(
            sid=new_session_id(), pid=os.getpid(), host=HOST, role=role, started=time.time(), protocol=PROTOCOL
        )
        self.sid = self.info.sid
        self.journal_path = journal_path(location, self.sid)
        self.last_request = time.monotonic()
        self.released = threading.Event()
        self._latest: dict[str, tuple[str, float]] = {}
        self._flush = flush
        self._flush_changed = flush_changed
        self._changes: queue.SimpleQueue[dict[str, tuple[str, float]]] = queue.SimpleQueue()
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
        threading.Thread(target=self._persist, name="GangaJupyter-persist", daemon=True).start()

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
    def _on_batch(self, batch: Any) -> None:
        """Hand this session's own changes of a batch of the event stream (an ``EventBatch``) to the persisting
        thread, so the views' dispatcher never waits for the disk. A batch with only scheduler-record changes, or
        only other sessions' changes, has nothing to persist."""
        local = batch.local() if hasattr(batch, "local") else dict(batch)
        if local:
            self._changes.put(local)

    def _persist(self) -> None:
        """Write each job of a batch of changes to disk (``flush``), then journal its changes: a journal line is
        never ahead of the repository files. Job by job, jobs whose own status changed first, so a small job's
        news never waits for a big split job's files; a split job whose subjobs alone changed is written at most
        every ``SUBJOBS_EVERY`` seconds, its changes meanwhile gathered into that write."""
        changed_written = time.monotonic()
        waiting: dict[str, tuple[str, float]] = {}  # changes of busy jobs, and of subjobs gathered for one write
        written: dict[str, float] = {}  # job id -> when its subjob changes were last written
        while not self.released.is_set():
            now = time.monotonic()
            if self._flush_changed is not None and now - changed_written >= CHANGED_EVERY:
                changed_written = now
                try:
                    self._flush_changed()
                except Exception as err:
                    self._warn(f"GangaJupyter: could not write changed jobs to disk: {err}")
            try:
                batch = self._changes.get(timeout=RETRY_EVERY if waiting else CHANGED_EVERY)
            except queue.Empty:
                batch = {}
            while not self._changes.empty():  # a backlog is written once
                batch.update(self._changes.get())
            batch = {**waiting, **batch}
            waiting = {}
            for changes in by_job(batch):
                job_id = next(iter(changes)).split(".", 1)[0]
                now = time.monotonic()
                if job_id not in changes and now - written.get(job_id, float("-inf")) < SUBJOBS_EVERY:
                    waiting.update(changes)
                    continue
                if len(changes) > (job_id in changes):  # subjob changes among them
                    written[job_id] = now
                if self._flush is not None:
                    try:
                        if self._flush(changes) is False:  # Ganga is changing the job: the next round writes it
                            waiting.update(changes)
                            continue
                    except Exception as err:
                        self._warn(f"GangaJupyter: could not write job changes to disk: {err}")
                self.journal(changes)

    def journal(self, batch: dict[str, tuple[str, float]]) -> None:
        """Append ``batch`` to this session's journal (compacted when it has grown past ``JOURNAL_LIMIT``)."""
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
        from .actions import call, perform

        answer = call if request.action in JOB_CALLS else perform
        write_reply(self.location, request.rid, answer(request.action, request.job))
        return False


_service: SessionService | None = None
_peers: Any = None


def start_service(role: str = "kernel") -> SessionService | None:
    """Link this Ganga session to the others on its gangadir and to the Jobs browser (once per process)."""
    global _service, _peers
    if _service is not None:
        return _service
    from GangaCore.Utility.logging import getLogger

    from . import sharing

    try:
        service = SessionService(
            sharing.ganga_location(),
            role,
            flush=functools.partial(sharing.flush_jobs, wait=False),  # a busy job must not hold back the others
            flush_changed=sharing.flush_changed,
        )
        service.start()
        peers = sharing.PeerWatch(service.location, service.journal_path)
        peers.start()
    except Exception as err:  # the notebook keeps working on its own jobs
        getLogger().warning(
            "GangaJupyter: this session cannot share its gangadir with other notebooks and the Jobs browser: %s", err
        )
        return None
    import atexit

    atexit.register(service.stop)
    atexit.register(peers.stop)
    _service, _peers = service, peers
    return service


def running_service() -> SessionService | None:
    """The service of this process, once started."""
    return _service
