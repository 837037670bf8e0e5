"""inotify (watchdog) on the repository and on the sessions' status journals, feeding :class:`RepositoryIndex`.

Events only name the jobs to re-read; one thread re-reads them in batches every ``interval`` seconds, so a
flush of a 10,000-subjob job costs one re-read, not 10,000.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .repository import RepositoryIndex

RESCAN = 10  # seconds between full reads when inotify cannot watch the repository


class RepositoryWatch(FileSystemEventHandler):
    def __init__(self, index: RepositoryIndex, interval: float = 0.1):
        self.index = index
        self.interval = interval
        self._jobs_root = index.location.jobs
        self._journals = index.location.jupyter / "sessions"
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

    def start(self) -> None:
        self._journals.mkdir(parents=True, exist_ok=True)  # GangaJupyter's own folder; Ganga's is never created here
        self._observer.schedule(self, str(self._journals), recursive=False)
        self._observer.start()
        threading.Thread(target=self._run, name="GangaJupyter-repository-watch", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._observer.stop()

    def _watch_jobs(self) -> None:
        """Watch Ganga's job folder once it exists (a new gangadir has none until Ganga's first session). When
        inotify runs out of watches (one per job folder), read the whole repository every ``RESCAN`` s instead."""
        if self.polling:
            if time.monotonic() - self._last_scan > RESCAN:
                self._last_scan = time.monotonic()
                self.index.load_all()
            return
        if not self.watching_jobs and self._jobs_root.is_dir():
            try:
                self._observer.schedule(self, str(self._jobs_root), recursive=True)
                self.watching_jobs = True
            except OSError as err:
                self.polling = True
                logging.getLogger(__name__).warning(
                    "GangaJupyter Jobs browser: cannot watch %s (%s); reading it every %d s instead. Raise "
                    "fs.inotify.max_user_watches (sysctl) for live updates.", self._jobs_root, err, RESCAN
                )
            self._last_scan = time.monotonic()
            self.index.load_all()  # jobs made before the watch started

    # ------------------------------------------------------------------ events (watchdog's thread)
    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            path = Path(raw if isinstance(raw, str) else raw.decode())
            if path.parent == self._journals and path.suffix == ".events":
                with self._lock:
                    self._journal_paths.add(path)
                self._wake.set()
                continue
            try:
                parts = path.relative_to(self._jobs_root).parts
            except ValueError:
                continue
            if len(parts) >= 2 and parts[0].endswith("xxx"):
                stem = parts[1][: -len(".index")] if parts[1].endswith(".index") else parts[1]
                if stem.isdigit():
                    with self._lock:
                        self._dirty.add(int(stem))
                    self._wake.set()

    # ------------------------------------------------------------------ re-reading (one thread)
    def _run(self) -> None:
        self.index.load_all()
        while not self._stop.is_set():
            self._watch_jobs()
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
