"""Many Ganga sessions on one gangadir, each first-class: every kernel submits, lists every job and follows it.

Ganga's own locking stays as it is: a session holds (locks) each job it creates or changes, and only the holder
writes it. On top of that (docs/shared-gangadir.rst):

* the holder writes each change to disk within a second (:func:`flush_jobs`, from the session service) and
  journals it; every other session reads the journals (:class:`PeerWatch`), reloads the job from disk and tells
  its own views;
* a call the user makes on a job another session holds (kill, resubmit, remove) is carried out by the holder
  (:func:`call_in_holder`), through the same request files the Jobs browser uses;
* every half second, and before each scan of Ganga's monitor (:func:`adopt_orphans`), the dead sessions of this
  host are reaped and their active jobs adopted: reloaded from disk, locked, and brought to their true state.

Everything here runs on Ganga's or GangaJupyter's own threads, or in the call the user made; never in the user's
namespace from a background thread.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from GangaCore.Core.exceptions import GangaException
from GangaCore.Utility.logging import getLogger

from ..Core.errors import JobElsewhereError
from ..Core.journals import Changes, JournalFollower, by_job
from ..Core.location import GangaLocation
from ..Core.protocol import (
    JOURNAL_SUFFIX,
    PROTOCOL,
    SessionInfo,
    current_session,
    registered_sessions,
    send_request,
    sessions_folder,
    take_reply,
)
from ..Monitor.status_file_watch import watch_job
from . import ganga_locks, job_from_disk

logger = getLogger()

#: Statuses in which a job needs a monitoring session: the ones Ganga polls, and the ones a submit or a
#: completion leaves behind when its session dies in the middle.
NEEDS_MONITORING = ("submitting", "submitted", "running", "completing")
CALL_TIMEOUT = 120.0  # seconds a call may take in the session that holds the job
HELD_CACHE = 0.2  # seconds the other sessions' locks are read again at most once
#: When Ganga loaded GangaJupyter (its patches import this module), before it read the repository.
LOADED = time.time()
#: Seconds before then from which the other sessions' journals are read: a change is journaled within a second
#: or two of being made, so one made before Ganga's read but journaled after it is news too.
STARTUP_MARGIN = 10.0
MIN_TICK = 0.05  # seconds between two reads of the other sessions' journals, however often they grow
BUSY_TIMEOUT = 2.0  # seconds a job read again may stay busy in this session (then: its next change, or scan)


class JobHeldElsewhere(GangaException, JobElsewhereError):
    """Raised through Ganga's interface: Ganga's shell and GangaJupyter's short errors show its message."""


_serving = threading.local()


class serving_a_call:
    """While a session makes a call another session asked of it, the call is never sent on (no ping-pong when
    two sessions disagree on who holds a job: Ganga's own lock error is the answer)."""

    def __enter__(self) -> None:
        _serving.active = True

    def __exit__(self, *_: Any) -> None:
        _serving.active = False


def may_call_holder() -> bool:
    return not getattr(_serving, "active", False)


def ganga_location() -> GangaLocation:
    """The location of the repository of the Ganga session running in this process."""
    from GangaCore.Utility.Config import getConfig
    from GangaCore.Utility.files import expandfilename

    config = getConfig("Configuration")
    return GangaLocation(gangadir=Path(expandfilename(config["gangadir"], True)).resolve(), user=config["user"])


def monitoring() -> bool:
    """Whether this session's monitor runs: only then may it adopt jobs (what would follow them otherwise?)."""
    from GangaCore.Core import monitoring_component

    return monitoring_component is not None and monitoring_component.enabled


def _registry() -> Any:
    from GangaCore.Core.GangaRepository import getRegistry

    return getRegistry("jobs")


class _Held:
    """The other sessions' locks, read at most every ``HELD_CACHE`` seconds."""

    def __init__(self) -> None:
        self._at = 0.0
        self._held: dict[int, ganga_locks.GangaSession] = {}
        self._lock = threading.Lock()

    def get(self, fresh: bool = False) -> dict[int, ganga_locks.GangaSession]:
        with self._lock:
            if fresh or time.monotonic() - self._at > HELD_CACHE:
                self._held = ganga_locks.held_by_others(_registry().repository.sessionlock)
                self._at = time.monotonic()
            return self._held


held = _Held()


def holds(job_id: int) -> bool:
    """Whether this session holds job ``job_id`` (Ganga's lock): then its memory is the truth."""
    return job_id in _registry().repository.sessionlock.locked


def holder(job: Any) -> ganga_locks.GangaSession | None:
    """The other live Ganga session that holds ``job`` (any job or subjob), or None (this one, or nobody)."""
    root = job._getRoot()
    if getattr(root, "_registry_locked", False):
        return None
    try:  # a job read again from disk may have been detached from its registry meanwhile: its id still says
        job_id = root._registry.find(root) if root._registry is not None else int(root.id)
    except Exception:
        return None
    return None if holds(job_id) else held.get(fresh=True).get(job_id)


# ------------------------------------------------------------------------------------------------ reading
def _under_job_lock(obj: Any, locks: list[Any], read: Callable[[], None]) -> bool:
    """``read()`` holding ``locks`` (the registry's, in Ganga's order) and then the job's own lock, which is only
    tried, never waited for: Ganga takes a job's lock before the registry's to load it (a descriptor read). Tried
    again for up to ``BUSY_TIMEOUT`` seconds; False when the job stayed busy."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        with contextlib.ExitStack() as held_locks:
            for lock in locks:
                held_locks.enter_context(lock)
            if obj._lock.acquire(blocking=False):
                try:
                    read()
                    return True
                finally:
                    obj._lock.release()
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def _forget_failed_load(repository: Any, job_id: int, err: Exception) -> None:
    """A half-written file of a session that died: the next change reads it again."""
    logger.debug("GangaJupyter: could not read job %s again: %s", job_id, err)
    if job_id in repository.incomplete_objects and os.path.exists(repository.get_fn(job_id)):
        repository.incomplete_objects.remove(job_id)  # Ganga's load gave up on it for good: not here


def reload(job_ids: Iterable[int]) -> None:
    """Read jobs another session holds again from disk (data if loaded, index otherwise); unknown ids make the
    index be read again (a job another session made), and a job gone from disk leaves this registry. Only Ganga's
    read lock is taken, not its flush lock: this session never writes another's job (``writes_only_held``), so
    its own writes need not wait for the news of other sessions, nor the news for its writes."""
    registry = _registry()
    repository = registry.repository
    unknown = False
    for job_id in job_ids:
        if job_id in repository.sessionlock.locked:
            continue
        obj = repository.objects.get(job_id)
        if obj is None or not os.path.exists(repository.get_idxfn(job_id)):
            unknown = True  # made, or removed, by the session that held it
            continue
        try:
            if not repository.isObjectLoaded(obj):
                with registry._read_lock:
                    repository.index_load(job_id)
            elif not _under_job_lock(obj, [registry._read_lock], lambda: job_from_disk.read_again(repository, job_id)):
                logger.debug("GangaJupyter: job %s stayed busy; it is read again at its next change", job_id)
        except KeyError:
            unknown = True  # removed by the session that held it
        except Exception as err:
            _forget_failed_load(repository, job_id, err)
    if unknown:
        refresh_index()


def read_latest(job: Any) -> None:
    """Read a job (or a subjob's job) another session holds again from disk if its files changed: a view opened
    just after another session changed the job (a resubmit this session asked of its holder) shows the change,
    not the copy this session has until the holder's journal line is read (a job ended there settles its view)."""
    top = job
    while top._getParent() is not None:
        top = top._getParent()
    registry = _registry()
    if top._getRegistry() is not registry or holds(top.id):
        return
    if registry.repository.isObjectLoaded(top):
        reload([top.id])
    else:  # its index entry is as old as the holder's first write of it (Ganga rewrites it at shutdown)
        registry._load(top)


def _read_held(job_id: int) -> bool:
    """Read a job this session has just locked from disk, whole: what is in memory may be a copy from before its
    last holder's latest write (a name set, a read of it that failed while it was half written). Under the flush
    lock too: held now, the job is Ganga's flusher's to write. False when it stayed busy or could not be read (the
    next scan tries again)."""
    registry = _registry()
    repository = registry.repository
    try:
        return _under_job_lock(
            repository.objects[job_id],
            [registry._flush_lock, registry._read_lock],
            lambda: job_from_disk.read_again(repository, job_id),
        )
    except Exception as err:
        _forget_failed_load(repository, job_id, err)
        return False


def forget_removed(job_ids: Iterable[int]) -> None:
    """Jobs this session holds that another session removed from disk (a removal must leave every registry)
    leave this registry, and their locks go."""
    registry = _registry()
    repository = registry.repository
    with registry._flush_lock, registry._read_lock:
        for job_id in job_ids:
            if job_id in repository.objects and not os.path.exists(os.path.dirname(repository.get_fn(job_id))):
                if not os.path.exists(repository.get_idxfn(job_id)):
                    repository.delete([job_id])
                    repository.sessionlock.release_ids([job_id])
                    logger.debug("GangaJupyter: job %s was removed by another session", job_id)


def refresh_index() -> None:
    """Read the repository's index again: jobs other sessions made appear (once their index entry is on disk),
    removed ones go, and the entries of jobs nobody here holds are read again where they changed. Ganga's
    ``update_index`` does this and, each time anything changed, rewrites the master index cache too: a pickle of
    every job's entry, a quarter of a second under the flush lock on a busy gangadir, while this session's own
    status writes wait for it. Ganga writes that cache at its shutdown; an older one only has start-up read more
    index files."""
    registry = _registry()
    repository = registry.repository
    listing = repository.get_index_listing()  # the folders, read outside the locks
    with registry._flush_lock, registry._read_lock:
        mine = repository.sessionlock.locked
        for job_id, indexed in listing.items():
            if not indexed or job_id in mine or job_id in repository.incomplete_objects:
                continue  # an index entry not written yet is read at the next refresh
            try:
                repository.index_load(job_id)
            except Exception as err:  # half written, or removed meanwhile: the next refresh reads it
                logger.debug("GangaJupyter: could not read the index entry of job %s: %s", job_id, err)
        for job_id in [i for i in repository.objects if i not in listing and i not in mine]:
            repository._internal_del__(job_id)  # removed by the session that held it


# ------------------------------------------------------------------------------------------------ writing
def flush_jobs(fqids: Iterable[str], must: bool = False, wait: bool = True) -> bool:
    """Write the jobs (of these jobs and subjobs) this session holds to disk now, not at Ganga's 30 s flush: the
    job's data, and its index entry, which Ganga otherwise rewrites only at shutdown (other sessions, and Ganga's
    own start-up, read a job's status from there). A write that fails raises when ``must``; otherwise the next
    change writes again, and Ganga's own flusher runs too. Without ``wait``, a job another thread is changing
    (Ganga's monitor completing it, with its output sandbox) is left for later: returns False when one was."""
    registry = _registry()
    repository = registry.repository
    written = True
    for job_id in sorted({int(fqid.split(".", 1)[0]) for fqid in fqids if fqid}):
        obj = repository.objects.get(job_id)
        if obj is None or job_id not in repository.sessionlock.locked:
            continue
        try:
            with registry._flush_lock:  # Ganga's order: the flush lock, then the job's
                if not obj._lock.acquire(blocking=wait):
                    written = False
                    continue
                try:
                    registry._flush([obj])
                    if repository.isObjectLoaded(obj):
                        repository.index_write(job_id, shutdown=True)
                finally:
                    obj._lock.release()
        except Exception as err:
            if must:
                raise
            logger.debug("GangaJupyter: could not write job %s to disk yet: %s", job_id, err)
    return written


def flush_changed() -> None:
    """Write the loaded jobs this session holds that changed since Ganga last wrote them, though no status did: a
    job made in a cell with a name, a comment set later. Ganga would write them at its next 30 s flush."""
    repository = _registry().repository
    mine = repository.sessionlock.locked
    changed = [str(job_id) for job_id, obj in list(repository._fully_loaded.items()) if job_id in mine and obj._dirty]
    if changed:
        flush_jobs(changed, wait=False)  # one Ganga is changing is written at the next look


# ------------------------------------------------------------------------------------------------ taking over
#: How Ganga derives a split job's status from its subjobs' (``Job.updateMasterJobStatus``): the first found.
MASTER_ORDER = ("submitting", "submitted", "running", "completing", "failed", "killed", "completed")


def recover(job: Any) -> list[str]:
    """Bring a job whose session died in the middle of a submit, a kill or a completion to a state the monitor
    can finish: what reached the backend is ``submitted``; what never did is ``new`` (a job: submit it again) or
    ``failed`` (a subjob, so resubmitting the failed subjobs completes the set); ``completing`` polls again; what
    the backend shows ended without saying how is ``killed`` (its session was killing it) or ``failed``; processes
    that session paused to kill them go on. The
    statuses are set as Ganga's monitor sets them after a crash would have to: directly, as what they are, not
    as transitions. Returns what it changed, to log."""
    from ..Backends import adapter_for

    changed = []
    subjobs = list(job.subjobs)
    try:  # a session killed in the middle of a kill may have left the job's processes paused (Local): they go on
        adapter_for(job).resume(job, [sj for sj in subjobs if sj.status in NEEDS_MONITORING] or [job])
    except Exception as err:
        logger.debug("GangaJupyter: could not resume the processes of job %s: %s", job.getFQID("."), err)

    def becomes(target: Any, status: str) -> None:
        if target.status != status:
            target.status = status
            changed.append(f"{target.getFQID('.')} -> {status}")

    for one in subjobs or [job]:
        try:
            adapter = adapter_for(one)
            if one.status in ("submitting", "submitted") or (one is not job and one.status == "new" and job.status != "new"):
                if not adapter.went_out(one):
                    becomes(one, "failed" if one is not job else "new")
                    continue
                becomes(one, "submitted")
            elif one.status == "completing":
                becomes(one, "running")
            if one.status in ("submitted", "running"):
                lost = adapter.lost_status(one)
                if lost is not None:
                    becomes(one, lost)
        except Exception as err:  # one unreadable subjob must not leave the others unrecovered
            logger.debug("GangaJupyter: could not recover %s: %s", one.getFQID("."), err)
    if subjobs:
        statuses = {sj.status for sj in subjobs}
        becomes(job, next((s for s in MASTER_ORDER if s in statuses), "new"))
    return changed


_adopting = threading.Lock()


def job_statuses(repository: Any | None = None, fresh: bool = False) -> list[tuple[int, Any, str | None]]:
    """``(id, job, status)`` of every job of the repository (the jobs registry's by default), as Ganga's ``job.status`` reads it (from the job if
    loaded, else its index entry) but raw: Ganga's read scans the loaded jobs once per job, and the scans of
    Ganga's monitor read every job (100,000 jobs: half a second of the kernel's time, per scan)."""
    repository = repository or _registry().repository
    at, of, statuses = _statuses_read
    if not fresh and of is repository and time.monotonic() - at < STATUSES_FRESH:
        return statuses  # the same scan of Ganga's monitor: its adoption and its poll read them once
    loaded = {id(o) for o in list(repository._fully_loaded.values())}
    statuses = [
        (job_id, obj, (obj._data_dict if id(obj) in loaded else obj._index_cache_dict or {}).get("status"))
        for job_id, obj in list(repository.objects.items())
    ]
    _statuses_read[:] = [time.monotonic(), repository, statuses]
    return statuses


STATUSES_FRESH = 0.2  # seconds the jobs' statuses read for one scan of Ganga's monitor serve again
_statuses_read: list[Any] = [0.0, None, []]


def adopt_orphans() -> dict[int, ganga_locks.GangaSession]:
    """Reap this host's dead sessions, and adopt the jobs that need monitoring and that nobody holds: read again
    from disk, locked, brought to their true state, watched. Returns what other live sessions hold."""
    from GangaCore.Core.GangaRepository import RegistryLockError
    from GangaCore.Core.GangaRepository.Registry import ObjectNotInRegistryError

    registry = _registry()
    repository = registry.repository
    with _adopting:
        dead, theirs = ganga_locks.reap_dead_sessions(repository.sessionlock)
        if dead:
            refresh_index()  # the dead session may have made jobs this session has not seen
            # what it wrote and never journaled (a submit it died in) is on disk only: read before judging it
            reload(job_id for job_id in theirs if job_id in repository.objects)
        others = held.get(fresh=True)
        mine = repository.sessionlock.locked
        for job_id, obj, status in job_statuses(repository, fresh=True):  # fresh: the index may just have changed
            if job_id in mine or job_id in others or status not in NEEDS_MONITORING:
                continue
            try:
                registry._acquire_session_lock(obj)
            except (RegistryLockError, ObjectNotInRegistryError):
                continue  # another live session adopted it first, or removed it
            if not _read_held(job_id):  # read under the lock, which no other session can write under now
                repository.sessionlock.release_ids([job_id])
                obj._registry_locked = False
                continue  # the next scan tries again
            changed = recover(obj)
            if changed:
                obj._setDirty()
                logger.info("GangaJupyter: took over job %s from a session that ended: %s", job_id, "; ".join(changed))
            flush_jobs([str(job_id)])
            announce(obj)
            watch_job(obj)  # its status file tells this session at once, as it told the session that died
        return others


def announce(job: Any) -> None:
    """Tell every view, in this session and (through its journal) in the others, the statuses of a job just taken
    over, as read from disk: what the session that died wrote and never journaled changes no status here."""
    from ..Monitor.events import status_events

    for one in [job, *job.subjobs]:
        status_events.publish(one.getFQID("."), one.status)


def before_scan() -> set[int]:
    """What a session does before each scan of Ganga's monitor: adopt the orphans, and return the ids other live
    sessions hold (not to be polled here)."""
    return set(adopt_orphans())


# ------------------------------------------------------------------------------------------------ calls
def unreachable(session: ganga_locks.GangaSession, registrations: list[SessionInfo]) -> tuple[str, str] | None:
    """Why no call can reach ``session`` (what it is), and what the user can do; None when a call can."""
    target = next((s for s in registrations if (s.host, s.pid) == (session.host, session.pid)), None)
    if target is not None and target.protocol >= PROTOCOL:
        return None
    if target is not None:
        return (
            "a notebook running an older GangaJupyter, which cannot take calls from other notebooks",
            "restart that notebook's kernel so both run the same GangaJupyter",
        )
    kind = "a ganga session without GangaJupyter" if session.host == ganga_locks.GANGA_HOST else "on another host"
    return kind, f"close it: its jobs then move to this notebook {ganga_locks.when_free(session)}"


def reachable_holder(job: Any, verb: str) -> SessionInfo | None:
    """The registration of the other live session that holds ``job``, to send it a call; None when this session
    may make the call itself. Raises :class:`JobHeldElsewhere` saying what to do when the holder cannot take
    calls (``verb`` is what the user wanted: "kill", ...)."""
    session = holder(job)
    if session is None:
        return None
    registrations = registered_sessions(ganga_location())
    why = unreachable(session, registrations)
    if why is not None:
        raise JobHeldElsewhere(
            f"Job {job.getFQID('.')} belongs to a Ganga session that GangaJupyter cannot reach "
            f"({ganga_locks.describe(session)}; {why[0]}). {verb.capitalize()} it in that session, or {why[1]}."
        )
    return next(s for s in registrations if (s.host, s.pid) == (session.host, session.pid))


def call_in_holder(job: Any, call: str) -> None:
    """Have the session that holds ``job`` make Ganga's ``call`` (``job.kill``, ...) on it, wait for its answer,
    and read the job again. Raises :class:`JobHeldElsewhere` with what to do when it cannot be done."""
    location = ganga_location()
    verb = call.split(".", 1)[1]
    target = reachable_holder(job, verb)
    fqid = job.getFQID(".")
    if target is None:
        raise JobHeldElsewhere(f"Job {fqid} is no longer held by another session: {verb} it again.")
    session = holder(job)
    where = f"pid {target.pid} on {target.host}"
    rid = send_request(location, target, call, fqid)
    deadline = time.monotonic() + CALL_TIMEOUT
    while time.monotonic() < deadline:
        reply = take_reply(location, rid)
        if reply is not None:
            reload([int(fqid.split(".", 1)[0])])
            if not reply.ok:
                raise JobHeldElsewhere(reply.message)
            return
        if current_session(location, target.sid) is None:
            free = ganga_locks.when_free(session) if session is not None else "soon"
            raise JobHeldElsewhere(
                f"The session that held job {fqid} ({where}) ended before it answered. Its jobs move to a live "
                f"session {free}: {verb} it again then."
            )
        time.sleep(0.02)
    raise JobHeldElsewhere(f"The session that holds job {fqid} ({where}) did not answer within {CALL_TIMEOUT:.0f} s.")


def unreachable_holders() -> dict[ganga_locks.GangaSession, tuple[list[int], tuple[str, str]]]:
    """The live Ganga sessions that hold jobs and that no call can reach, with the ids they hold, and why (what
    it is, what to do: :func:`unreachable`). The dead sessions of this host are reaped first: they hold nothing."""
    ganga_locks.reap_dead_sessions(_registry().repository.sessionlock)
    registrations = registered_sessions(ganga_location())
    found: dict[ganga_locks.GangaSession, tuple[list[int], tuple[str, str]]] = {}
    for job_id, session in sorted(held.get(fresh=True).items()):
        if session not in found:
            why = unreachable(session, registrations)
            if why is None:
                continue
            found[session] = ([], why)
        found[session][0].append(job_id)
    return found


# ------------------------------------------------------------------------------------------------ peers
class PeerWatch:
    """Follows the other sessions' journals: each change is read from disk and told to this session's views; a
    dead session of this host has its jobs adopted at once; a job another session made is indexed. inotify
    (watchdog) wakes it when a journal grows; it also looks every ``interval`` seconds regardless (a journal
    written on another host, over a network file system, tells inotify nothing)."""

    def __init__(self, location: GangaLocation, own_journal: Path, interval: float = 0.25):
        self.interval = interval
        self.folder = sessions_folder(location)
        # every change since a little before Ganga loaded GangaJupyter, which it does before it reads the
        # repository: a change journaled between that read and now is still news here
        self.follower = JournalFollower(self.folder, skip=own_journal, since=LOADED - STARTUP_MARGIN)
        self._sessionlock = _registry().repository.sessionlock
        self._counter = Path(self._sessionlock.cntfn)
        self._counter_mtime = self._mtime(self._counter)
        self._index_again = 0.0  # when to read the index once more after a change of the counter
        self._dead_checked = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._observer: Any = None

    def start(self) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        wake = self._wake

        class Grown(FileSystemEventHandler):
            def on_any_event(self, event):  # noqa: ANN001 (watchdog's API)
                if str(event.src_path).endswith(JOURNAL_SUFFIX):
                    wake.set()

        self._observer = Observer()
        self._observer.daemon = True
        self._observer.schedule(Grown(), str(self.folder), recursive=False)
        self._observer.start()
        threading.Thread(target=self._run, name="GangaJupyter-peer-journals", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            started = time.monotonic()
            try:
                self.tick()
            except Exception as err:  # a gangadir that went away for a while: read again next time
                logger.debug("GangaJupyter: could not read the other sessions' journals: %s", err)
            # a busy gangadir's many appends are read together, not one by one
            self._stop.wait(max(0.0, MIN_TICK - (time.monotonic() - started)))

    @staticmethod
    def _mtime(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    def tick(self) -> None:
        """The other sessions' news first (job by job: read again, then told to the views), then the dead
        sessions and the index."""
        changes = self.follower.read()
        jobs = by_job(changes)
        known = _registry().repository.objects
        if any(int(next(iter(job)).split(".", 1)[0]) not in known for job in jobs):
            refresh_index()  # jobs other sessions made: the index once, not once per job
        for job in jobs:
            self._tell(job)
        now = time.monotonic()
        if now - self._dead_checked >= 0.5 and monitoring():
            self._dead_checked = now
            if ganga_locks.dead_sessions(self._sessionlock)[0]:
                adopt_orphans()  # a session of this host died: its jobs are monitored here now, not at the next scan
        counter = self._mtime(self._counter)
        if counter != self._counter_mtime:
            self._counter_mtime = counter
            refresh_index()  # another session made jobs
            self._index_again = now + 1.0  # a job made now may not have its files on disk yet
        elif self._index_again and now > self._index_again:
            self._index_again = 0.0
            refresh_index()

    @staticmethod
    def _tell(changes: Changes) -> None:
        """One job's changes: read again from disk (or, removed, forgotten), then published to this session's
        views; a job this session holds is its own news."""
        from ..Monitor.events import status_events

        job_id = int(next(iter(changes)).split(".", 1)[0])
        if holds(job_id):
            if any(status == "removed" for status, _ in changes.values()):
                forget_removed([job_id])
            return
        reload([job_id])
        for fqid, (status, when) in sorted(changes.items(), key=lambda item: item[1][1]):
            status_events.publish_foreign(fqid, status, when)
