"""Event-driven detection through the job's status file: each backend's adapter names the file in the job's output
directory that changes with its state (``BackendAdapter.watched_file``: the ``__jobstatus__`` that Ganga's
wrappers write, an HTCondor event log, or none); inotify (through watchdog) tells us at once, and the adapter's
update (``BackendAdapter.update``, the backend's own monitoring code) then reads it on Ganga's monitoring loop, as
its poll would. (On a cluster whose worker nodes write over NFS, inotify sees nothing, and the backend's poll
decides.)

Jobs are watched from the moment their ``submit()`` returns in this session until they end (a file written
before is read then); a split job's whole workspace is one recursive watch, up to
``[Jupyter] fast_detection_max_subjobs`` subjobs. It starts once ``submit()`` has made every subjob folder:
watchdog's recursive watch registers a folder made while it walks a new one twice, and warns about it.

The update a change triggers goes through :func:`.update_guard.one_update_per_job`, as Ganga's poll does, so a
job is never updated by both at once, nor after it has ended. watchdog's warnings and log records are about its
own bookkeeping (Ganga's poll still sees every job), so they never reach a notebook cell: its warnings are
ignored, its log records go to Ganga's debug log.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
import warnings
from typing import Any, Iterator

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ..Backends import adapter_for
from ..Core.statuses import AT_BACKEND, FINAL
from .events import EventBatch, status_events
from .submits import after_submit, held_by_submit, submit_in_progress
from .update_guard import held_here, one_update_per_job, wait_until_free

logger = getLogger()

#: A master job in one of these is no longer watched ("new": its submit failed and Ganga rolled it back).
UNWATCHED = FINAL + ("new",)


def _job(fqid: str) -> Any | None:
    from GangaCore.Core.GangaRepository import getRegistrySlice

    ids = [int(part) for part in fqid.split(".")]
    try:
        job = stripProxy(getRegistrySlice("jobs")(ids[0]))
        for sub in ids[1:]:
            job = job.subjobs[sub]
        return job
    except Exception:  # removed meanwhile
        return None


async def _refresh(job: Any) -> None:
    """Let the backend's monitoring read this job's status file now (runs on Ganga's monitoring loop; a
    synchronous update, like Slurm's, in the loop's thread pool as Ganga runs it). A job another session holds
    now (it took the job over, or this session handed it on) is that session's to update."""
    if not held_here(job):
        return
    update = one_update_per_job(adapter_for(job).update)
    if asyncio.iscoroutinefunction(update):
        await update([job])
    else:
        await asyncio.get_running_loop().run_in_executor(None, update, [job])
    master = job.master
    if master is not None and master.status in AT_BACKEND + ("submitting",):
        master.updateMasterJobStatus()


class StatusFileWatch(FileSystemEventHandler):
    def __init__(self) -> None:
        self._observer: Observer | None = None
        self._watches: dict[str, Any] = {}  # master fqid -> watchdog watch
        self._not_watched: set[str] = set()  # other backends, or too many subjobs: decided once
        self._names: set[str] = set()  # the file names watched jobs write
        self._lock = threading.Lock()
        self.triggered = 0

    # ------------------------------------------------------------- which jobs
    def on_status_batch(self, batch: EventBatch) -> None:
        started: set[str] = set()
        for fqid, (status, _) in batch.local().items():  # another session watches the jobs it holds
            if status in AT_BACKEND:
                started.add(fqid.split(".")[0])
            elif status in UNWATCHED and "." not in fqid:
                self.unwatch(fqid)
        for master_fqid in started - set(self._watches) - self._not_watched:
            job = _job(master_fqid)
            if job is None:
                self._not_watched.add(master_fqid)
            elif not submit_in_progress(job):  # else watched when submit() returns (_after_submit)
                self.consider(job)

    def consider(self, job: Any) -> None:
        """Watch ``job`` (not a subjob) if it is active on a watched backend and monitoring is on."""
        from GangaCore.Core import monitoring_component

        if monitoring_component is None or not monitoring_component.enabled:
            return  # nothing would act on what the watch sees
        if job.status not in AT_BACKEND + ("submitting",) or job.getFQID(".") in self._not_watched:
            return
        if adapter_for(job).watched_file(job):
            self.watch(job)
        else:
            self._not_watched.add(job.getFQID("."))

    def watch(self, job: Any) -> None:
        from .. import settings

        fqid = job.getFQID(".")
        if len(job.subjobs) > settings.option("fast_detection_max_subjobs"):
            self._not_watched.add(fqid)  # one inotify watch per subjob folder: Ganga's own poll is cheaper
            return
        name = adapter_for(job).watched_file(job)
        if name:
            self._names.add(name)
        root = job.getOutputWorkspace(create=True).getPath()
        if len(job.subjobs):
            root = os.path.dirname(root.rstrip("/"))  # <id>/output -> <id>: holds every subjob
        with self._lock:
            if fqid not in self._watches:
                if self._observer is None:
                    self._observer = Observer()
                    self._observer.daemon = True
                    self._observer.start()
                try:
                    self._watches[fqid] = self._observer.schedule(self, root, recursive=bool(len(job.subjobs)))
                except OSError as err:  # inotify's limits reached: Ganga's own poll follows the job
                    logger.debug("GangaJupyter: not watching job %s (%s)", fqid, err)
                    self._not_watched.add(fqid)
                    return
        # a fast job may have written its status before the watch existed; a job taken over may have ended
        # while no session watched it
        self._catch_up(job)

    def unwatch(self, fqid: str) -> None:
        with self._lock:
            watch = self._watches.pop(fqid, None)
            if watch is not None and self._observer is not None:
                try:
                    self._observer.unschedule(watch)
                except (KeyError, ValueError, OSError):
                    pass

    # ------------------------------------------------------------- events
    def on_any_event(self, event: FileSystemEvent) -> None:
        path = os.fsdecode(getattr(event, "dest_path", "") or event.src_path)
        if event.event_type not in ("created", "modified", "moved", "closed"):
            return
        if os.path.basename(path) not in self._names:
            return
        job = self._job_for_status_file(path)
        if job is not None and adapter_for(job).watched_file(job) == os.path.basename(path):
            self.trigger(job)

    def _job_for_status_file(self, path: str) -> Any | None:
        # .../<id>/output/__jobstatus__ or .../<id>/<subjob>/output/__jobstatus__
        parts = os.path.normpath(path).split(os.sep)
        for depth in (4, 3):
            candidate = parts[-depth:-2]
            if candidate and all(p.isdigit() for p in candidate):
                fqid = ".".join(candidate)
                if fqid.split(".")[0] in self._watches and (len(candidate) == 2 or fqid in self._watches):
                    return _job(fqid)
        return None

    def _catch_up(self, job: Any) -> None:
        targets = [sj for sj in job.subjobs if sj.status in AT_BACKEND] if len(job.subjobs) else [job]
        for target in targets:
            name = adapter_for(target).watched_file(target)
            if name and os.path.exists(os.path.join(target.getOutputWorkspace(create=False).getPath(), name)):
                self.trigger(target)

    def trigger(self, job: Any) -> None:
        from GangaCore.Core import monitoring_component

        if monitoring_component is None or not monitoring_component.enabled:
            return  # monitoring is off in this session: Ganga must not update jobs here
        if held_by_submit(job):
            return  # Ganga's submit() may still mark it submitted: caught up when it returns (submit_race)
        self.triggered += 1
        asyncio.run_coroutine_threadsafe(_refresh(job), monitoring_component.loop)


status_file_watch = StatusFileWatch()

#: How long a kill waits for the backend's status files to be read first (it kills regardless after that).
READ_BEFORE_KILL_TIMEOUT = 5.0
#: How long a kill waits for the backend to record how the payloads that have just ended ended.
ENDING_TIMEOUT = 2.0


@contextlib.contextmanager
def settled_for_kill(job: Any) -> Iterator[None]:
    """While Ganga kills ``job``: its parts still at the backend are paused (:meth:`BackendAdapter.pause`), after
    the payloads that have ended have had their exit recorded, and their status files are read first. So a payload
    that ended before the kill ends ``completed`` or ``failed`` as it did, not ``killed`` (Ganga's kill marks every
    part it finds active), and none ends between that read and the kill. Reads on Ganga's monitoring loop, as the
    watch's reads do; nothing when monitoring is off."""
    from GangaCore.Core import monitoring_component

    if monitoring_component is None or not monitoring_component.enabled or monitoring_component.loop is None:
        yield
        return
    if _on_loop(monitoring_component.loop):
        yield  # a kill made by the monitoring loop itself: waiting for the loop here would stall it
        return
    impl = stripProxy(job)
    targets = [sj for sj in impl.subjobs if sj.status in AT_BACKEND] if len(impl.subjobs) else [impl]
    adapter = adapter_for(impl)
    deadline = time.monotonic() + ENDING_TIMEOUT
    resumes = [adapter.pause(impl, targets)]
    try:
        ending = [target for target in targets if adapter.ending(target)]
        while ending and time.monotonic() < deadline:  # let their wrappers record how they ended, then look again
            adapter.resume(impl, ending, parts_only=True)  # the rest stays paused: no subjob starts meanwhile
            while ending and time.monotonic() < deadline:
                time.sleep(0.05)
                ending = [target for target in ending if adapter.ending(target)]
            resumes.append(adapter.pause(impl, targets))
            ending = [target for target in targets if adapter.ending(target)]
        _read_status_files(targets, monitoring_component.loop)
        yield
    finally:
        for resume in resumes:
            resume()


def _read_status_files(targets: list[Any], loop: asyncio.AbstractEventLoop) -> None:
    wait_until_free(targets, READ_BEFORE_KILL_TIMEOUT)  # an update of them under way may have read them already
    pending = []
    for target in targets:
        name = adapter_for(target).watched_file(target)
        try:
            folder = target.getOutputWorkspace(create=False).getPath()
        except Exception:  # no workspace: nothing ran
            continue
        if name and os.path.exists(os.path.join(folder, name)) and not held_by_submit(target):
            pending.append(asyncio.run_coroutine_threadsafe(_refresh(target), loop))
    deadline = time.monotonic() + READ_BEFORE_KILL_TIMEOUT  # one wait for them all, however many parts
    for future in pending:
        try:
            future.result(max(0.0, deadline - time.monotonic()))
        except Exception as err:  # the kill goes on: at worst a part that ended shows killed, as in Ganga
            logger.debug("GangaJupyter: could not read a status file before a kill: %s", err)


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:  # no loop runs in this thread
        return False


def watch_job(job: Any) -> None:
    """Watch a job that is already active and that this session holds (a view re-attached after a kernel
    restart sees no new submit; a job taken over from a session that died). A job another session holds is that
    session's to watch."""
    impl = stripProxy(job)
    master = impl.master or impl
    if adapter_for(master).watched_file(master) and master.status in AT_BACKEND and held_here(master):
        status_file_watch.watch(master)


def _after_submit(job: Any) -> None:
    """Watch a job ``submit()`` has just returned; a status file written while it ran was left alone (see
    GangaPatches.submit_race), and is read now."""
    if job.master is not None:
        return
    if job.getFQID(".") in status_file_watch._watches:
        status_file_watch._catch_up(job)
    else:
        status_file_watch.consider(job)  # a new watch catches up


class _ToGangaDebugLog(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        logger.debug("watchdog: %s", record.getMessage())


def quiet_watchdog() -> None:
    """Ignore watchdog's warnings and send its log records to Ganga's debug log (idempotent)."""
    warnings.filterwarnings("ignore", module=r"watchdog(\.|$)")
    watchdog_log = logging.getLogger("watchdog")
    watchdog_log.propagate = False
    if not any(isinstance(h, _ToGangaDebugLog) for h in watchdog_log.handlers):
        watchdog_log.addHandler(_ToGangaDebugLog())


def install() -> None:
    quiet_watchdog()
    status_events.subscribe(status_file_watch.on_status_batch)
    after_submit(_after_submit)
