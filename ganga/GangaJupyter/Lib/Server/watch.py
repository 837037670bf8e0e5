"""inotify (watchdog) on the repository and on the sessions' status journals, feeding :class:`RepositoryIndex`.

Events only name the jobs to re-read; one thread re-reads them in batches every ``interval`` seconds, so a
flush of a 10,000-subjob job costs one re-read, not 10,000.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ..Core.protocol import JOURNAL_SUFFIX, registered_sessions, sessions_folder
from .repository import RepositoryIndex, job_id_of

RESCAN = 10  # seconds between full reads when inotify cannot watch the repository
_log = logging.getLogger(__name__)


class RepositoryWatch(FileSystemEventHandler):
    #: A journal whose session is not registered (or no longer runs) and that nobody wrote for this long (s) is
    #: removed: the session ended without cleaning up, and Ganga's files are newer. Sweeps run every minute.
    JOURNAL_GRACE = 3600.0
    JOURNAL_SWEEP = 60.0

    def __init__(self, index: RepositoryIndex, interval: float = 0.1):
        self.index = index
        self.interval = interval
        self._jobs_root = index.location.jobs
        self._journals = sessions_folder(index.location)
        self._dirty: set[int] = set()
        self._journal_paths: set[Path] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._observer = Observer()
        self._observer.daemon = True
        self.watching_jobs = False
        self.polling = False
        self._last_scan = 0.0
        self._last_sweep = 0.0
        self.thread = threading.Thread(target=self._run, name="GangaJupyter-repository-watch", daemon=True)

    def start(self) -> None:
        self._journals.mkdir(parents=True, exist_ok=True)  # GangaJupyter's own folder; Ganga's is never created here
        self._observer.schedule(self, str(self._journals), recursive=False)
        self._observer.start()
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._observer.stop()

    def _watch_jobs(self) -> bool:
        """Watch Ganga's job folder once it exists (a new gangadir has none until Ganga's first session). When
        inotify runs out of watches (one per job folder), read the whole repository every ``RESCAN`` s instead.
        Returns whether it read the whole repository."""
        if self.polling:
            if time.monotonic() - self._last_scan > RESCAN:
                self._last_scan = time.monotonic()
                self.index.load_all()
                return True
            return False
        if not self.watching_jobs and self._jobs_root.is_dir():
            try:
                self._observer.schedule(self, str(self._jobs_root), recursive=True)
                self.watching_jobs = True
            except OSError as err:  # ENOSPC: out of inotify watches
                self.polling = True
                _log.warning(
                    "GangaJupyter Jobs browser: cannot watch %s (%s); reading it every %d s instead. Raise "
                    "fs.inotify.max_user_watches (sysctl) for live updates.", self._jobs_root, err, RESCAN
                )
            self._last_scan = time.monotonic()
            self.index.load_all()  # jobs made before the watch started
            return True
        return False

    def _sweep_journals(self) -> None:
        """Remove the journals of sessions that ended without cleaning up (killed, or their host went down)."""
        if time.monotonic() - self._last_sweep < self.JOURNAL_SWEEP:
            return
        self._last_sweep = time.monotonic()
        try:
            alive = {s.sid for s in registered_sessions(self.index.location)}
        except OSError:  # <gangadir>/jupyter is not the user's own: api/status says so; remove nothing there
            return
        for path in self._journals.glob(f"*{JOURNAL_SUFFIX}"):
            try:
                idle = time.time() - path.stat().st_mtime
            except OSError:
                continue
            if path.stem not in alive and idle > self.JOURNAL_GRACE:
                _log.info("GangaJupyter Jobs browser: removing %s, the journal of a session that has ended", path)
                self.index.journal.remove(path)

    # ------------------------------------------------------------------ events (watchdog's thread)
    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self._note(event)
        except Exception:  # an exception here would end watchdog's thread: no more live updates
            _log.exception("GangaJupyter Jobs browser: cannot handle the file event %s", event)

    def _note(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            path = Path(os.fsdecode(raw))
            if path.parent == self._journals and path.suffix == JOURNAL_SUFFIX:
                with self._lock:
                    self._journal_paths.add(path)
                self._wake.set()
                continue
            try:
                parts = path.relative_to(self._jobs_root).parts
            except ValueError:
                continue
            if len(parts) >= 2 and parts[0].endswith("xxx"):
                job_id = job_id_of(parts[1])
                if job_id is not None:
                    with self._lock:
                        self._dirty.add(job_id)
                    self._wake.set()

    # ------------------------------------------------------------------ re-reading (one thread)
    def _run(self) -> None:
        """Re-read what changed until stopped. Nothing may end this thread (the page would stop updating without a
        word): a failure is logged, and the whole repository is read again on the next round."""
        reload = True
        while not self._stop.is_set():
            try:
                if reload:
                    if not self._watch_jobs():  # the first read comes after the watch, so nothing falls between
                        self.index.load_all()
                    reload = False
                self._step()
            except Exception:
                _log.exception(
                    "GangaJupyter Jobs browser: reading the repository failed; reading it all again in %d s. Please "
                    "report this traceback with the file it names.", RESCAN
                )
                reload = True
                self._stop.wait(RESCAN)

    def _step(self) -> None:
        self._watch_jobs()
        self._sweep_journals()
        self._wake.wait(timeout=2.0)
        if self._stop.is_set():
            return
        self._stop.wait(self.interval)  # let a burst of events collapse
        with self._lock:
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            journals, self._journal_paths = self._journal_paths, set()
        if dirty or journals:
            self.index.refresh(dirty, journals)
