"""Monitoring of HTCondor jobs: per poll, one schedd query (with a projection) for every active job and subjob,
then the schedd's history for jobs that have left the queue.

Runs as one task in Ganga's monitoring thread pool, started by Ganga's loop every ``[PollThread] HTCondor``
seconds. Status changes go through Ganga's ``updateStatus``, from where the views hear of them; a change of what
HTCondor says about a job without a status change (held, why it stays idle) is published as a record change.
What the monitor remembers between polls lives in one :class:`HTCondorMonitor` (owned by HTCondor's adapter), and
is forgotten when the job ends or Ganga no longer asks about it.

What each HTCondor state becomes (``JobStatus``):

* 1 Idle: ``submitted``; after ``idle_check`` seconds, whether any slot can run it is checked once and a job
  that no slot matches gets that ``reason`` (it stays queued: a matching machine may still join the pool).
* 2 Running, 6 Transferring output, 7 Suspended: ``running``.
* 5 Held: a hold by a user (``condor_hold``, codes 1 and 15) waits for ``condor_release``; HoldReasonCode 16 is
  the normal "spooling input" hold. Any other hold is an error: with ``fail_on_hold`` the job is removed and
  ``failed``, its hold reason in ``reason``; without, it waits like a user hold.
* 4 Completed: spool outputs retrieved into the output directory, then ``completed`` for exit code 0, else
  ``failed``.
* 3 Removed (by someone else than Ganga): ``killed``.

Errors talking to the schedd (it restarts, the network drops) skip the poll; nothing changes until it answers.

Shared-filesystem jobs (``spool=False``) also have their event log in their output directory: GangaJupyter's
status-file watch (inotify) runs :meth:`HTCondorMonitor.poll` for a job as soon as HTCondor writes an event there,
and a job that has left the queue is decided from its log's last event without waiting for the schedd's history.
"""
from __future__ import annotations

import os
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger

from ..Core.statuses import AT_BACKEND
from ..Monitor.events import StatusEvents, status_events
from . import bindings, event_log

logger = getLogger()

PROJECTION = [
    "ClusterId", "ProcId", "JobStatus", "EnteredCurrentStatus", "HoldReason", "HoldReasonCode", "HoldReasonSubCode",
    "RemoveReason", "ExitCode", "ExitBySignal", "ExitSignal", "RemoteWallClockTime", "RemoteUserCpu", "RemoteSysCpu",
    "MemoryUsage", "ResidentSetSize", "RemoteHost", "LastRemoteHost", "StageOutFinish", "JobUniverse",
]
STATUS_NAMES = {1: "Idle", 2: "Running", 3: "Removed", 4: "Completed", 5: "Held", 6: "Transferring Output", 7: "Suspended"}
RUNNING = (2, 6, 7)
USER_HOLD_CODES = (1, 15)  # condor_hold; submitted on hold
SPOOLING_HOLD_CODE = 16
#: Polls a job may be missing from both the queue and the history (history is written a moment after a job
#: leaves the queue) before it is declared lost.
LOST_AFTER_POLLS = 30
RETRIEVE_ATTEMPTS = 3
#: ``reason`` of a job whose payload ended with a non-zero exit code: the payload's own failure (its stderr says
#: why), not something HTCondor did.
PAYLOAD_EXIT = "the payload exited with code {}"


@dataclass
class JobMemory:
    """What the monitor remembers about one HTCondor job (``cluster.proc``) between polls."""

    missing_polls: int = 0  # polls it was in neither the queue nor the history
    retrieve_failures: int = 0
    idle_checked: bool = False


def active_jobs(masters: Iterable[Any]) -> list[Any]:
    """The submitted or running jobs and subjobs of ``masters`` (subjob statuses from Ganga's cache)."""
    targets = []
    for job in masters:
        job = stripProxy(job)
        subjobs = job.subjobs
        if not len(subjobs):
            targets.append(job)
            continue
        cache = subjobs.getAllCachedData() if hasattr(subjobs, "getAllCachedData") else None
        for index in range(len(subjobs)):
            if cache is not None and not subjobs.isLoaded(index):
                if cache[index].get("status") in AT_BACKEND:
                    targets.append(subjobs[index])
            elif subjobs[index].status in AT_BACKEND:
                targets.append(subjobs[index])
    return targets


class HTCondorMonitor:
    """Brings HTCondor jobs up to date with their schedds. ``module`` gives the ``htcondor2`` bindings and
    ``schedd(pool, name)`` a schedd handle (the real ones by default); record changes go to ``events``."""

    def __init__(
        self,
        module: Callable[[], Any] = bindings.htcondor2,
        schedd: Callable[[str, str], Any] = bindings.schedd,
        events: StatusEvents = status_events,
    ):
        self._module = module
        self._schedd = schedd
        self._events = events
        self._poll_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: dict[int, Any] = {}  # jobs asked for while a poll ran: polled again when it ends
        self._memory_lock = threading.Lock()
        self._memory: dict[str, JobMemory] = {}
        self._outage_logged = False

    # ------------------------------------------------------------- what Ganga calls
    def schedule(self, masters: Iterable[Any]) -> None:
        """Ganga's per-backend check: hand every active job and subjob to one task on Ganga's thread pool, and
        forget the jobs Ganga no longer asks about (ended, killed or removed)."""
        from GangaCore.Core import monitoring_component

        if monitoring_component is None or not monitoring_component.enabled:
            return
        targets = active_jobs(masters)
        self.forget_all_but({job.backend.id for job in targets})
        if targets:
            monitoring_component.run_monitoring_task(self.poll, targets)

    def poll(self, jobs: list[Any]) -> None:
        """Bring ``jobs`` up to date with the schedd. While another poll runs, ``jobs`` wait for it and are polled
        right after it (an event-log trigger must not be lost to a poll that queried the schedd just before)."""
        with self._pending_lock:
            self._pending.update((id(job), job) for job in jobs)
        while self._pending and self._poll_lock.acquire(blocking=False):
            try:
                with self._pending_lock:
                    todo = list(self._pending.values())
                    self._pending.clear()
                if todo:
                    self._poll_once(todo)
            finally:
                self._poll_lock.release()

    # ------------------------------------------------------------- what it remembers
    def remembered(self) -> set[str]:
        """The HTCondor ids the monitor keeps something about."""
        with self._memory_lock:
            return set(self._memory)

    def forget_all_but(self, job_ids: set[str]) -> None:
        with self._memory_lock:
            for job_id in [i for i in self._memory if i not in job_ids]:
                del self._memory[job_id]

    def _memory_of(self, job_id: str) -> JobMemory:
        with self._memory_lock:
            return self._memory.setdefault(job_id, JobMemory())

    def _known(self, job_id: str) -> JobMemory | None:
        with self._memory_lock:
            return self._memory.get(job_id)

    def _forget(self, job_id: str) -> None:
        with self._memory_lock:
            self._memory.pop(job_id, None)

    # ------------------------------------------------------------- one poll
    def _poll_once(self, jobs: list[Any]) -> None:
        groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for job in jobs:
            job = stripProxy(job)
            if job.backend.id and job.status in AT_BACKEND:
                groups[(job.backend.pool, job.backend.schedd)].append(job)
        for (pool, name), members in groups.items():
            said = {id(job): (job.status, _said(job)) for job in members}
            self._poll_schedd(pool, name, members)
            for job in members:
                status, before = said[id(job)]
                if job.status not in AT_BACKEND:
                    self._forget(job.backend.id)
                elif job.status == status and _said(job) != before:
                    self._events.publish_record(job.getFQID("."))  # a status change is published by Ganga's hook
        masters = {id(j.master): j.master for j in jobs if j.master is not None}
        for master in masters.values():
            master.updateMasterJobStatus()

    def _poll_schedd(self, pool: str, name: str, jobs: list[Any]) -> None:
        by_id = {job.backend.id: job for job in jobs}
        clusters = sorted({int(i.split(".")[0]) for i in by_id})
        constraint = " || ".join(f"ClusterId == {c}" for c in clusters)
        try:
            module = self._module()
            schedd = self._schedd(pool, name)
            ads = schedd.query(constraint, PROJECTION)
            found = {f"{ad['ClusterId']}.{ad['ProcId']}": ad for ad in ads}
            missing = [i for i in by_id if i not in found]
            history = {}
            if missing:
                for ad in schedd.history(constraint, PROJECTION, match=len(missing) * 2 + 10):
                    history.setdefault(f"{ad['ClusterId']}.{ad['ProcId']}", ad)
        except Exception as err:  # the schedd restarts, the collector is away: try again at the next poll
            if not self._outage_logged:
                logger.warning("HTCondor: cannot reach the schedd (%s); jobs keep their status until it answers", err)
                self._outage_logged = True
            return
        if self._outage_logged:
            logger.info("HTCondor: the schedd answers again")
            self._outage_logged = False

        to_retrieve, finished, to_remove, idle = [], [], [], []
        for job_id, job in by_id.items():
            ad = found.get(job_id)
            if ad is None:
                ad = history.get(job_id) or _ended_in_event_log(module, job)
                if ad is None:
                    memory = self._memory_of(job_id)
                    memory.missing_polls += 1
                    if memory.missing_polls >= LOST_AFTER_POLLS:
                        _fail(job, "the job left HTCondor's queue and is not in the schedd's history: its outcome is unknown")
                    continue
                ad = _mark_from_history(ad)
            memory = self._known(job_id)
            if memory is not None:
                memory.missing_polls = 0
            status = int(ad.get("JobStatus", 0))
            _copy_statistics(job.backend, ad)
            job.backend.status = STATUS_NAMES.get(status, str(status))
            if status in RUNNING:
                job.backend.reason = ""
                if job.status == "submitted":
                    job.updateStatus("running", update_master=False)
            elif status == 1:
                memory = self._known(job_id)
                checked = memory is not None and memory.idle_checked
                if job.backend.idle_check and not checked and _idle_for(ad) >= float(job.backend.idle_check):
                    idle.append(job)
            elif status == 5:
                _held(job, ad, to_remove)
            elif status == 4:
                if job.backend.spool and not ad.get("_from_history") and not _retrieved(ad):
                    to_retrieve.append(job)
                finished.append((job, ad))
            elif status == 3:
                if job.status != "killed":
                    job.backend.reason = f"removed from HTCondor's queue: {ad.get('RemoveReason', 'no reason given')}"
                    job.updateStatus("killed", update_master=False)

        if to_remove:
            try:
                schedd.act(module.JobAction.Remove, [j.backend.id for j in to_remove], reason="GangaJupyter: held with an error")
            except Exception as err:
                logger.warning("HTCondor: could not remove held jobs %s: %s", [j.backend.id for j in to_remove], err)
            for job in to_remove:
                _fail(job, job.backend.reason)
        not_retrieved = self._retrieve(schedd, to_retrieve) if to_retrieve else set()
        for job, ad in finished:
            if id(job) not in not_retrieved and job.status in AT_BACKEND:
                _finish(job, ad)
        if idle:
            self._check_idle(pool, module, schedd, idle)

    def _retrieve(self, schedd: Any, jobs: list[Any]) -> set[int]:
        """Fetch the spooled outputs of ``jobs`` into their output directories: one call for all, or one per job
        when that fails. Returns the ``id()`` of the jobs still to retry; a job whose outputs fail
        ``RETRIEVE_ATTEMPTS`` times is failed with HTCondor's message."""
        for job in jobs:
            os.makedirs(job.getOutputWorkspace(create=True).getPath(), exist_ok=True)
        try:
            schedd.retrieve([job.backend.id for job in jobs])
            return set()
        except Exception as err:
            logger.debug("HTCondor: bulk retrieve failed (%s); retrieving job by job", err)
        retry = set()
        for job in jobs:
            try:
                schedd.retrieve(job.backend.id)
            except Exception as err:
                memory = self._memory_of(job.backend.id)
                memory.retrieve_failures += 1
                if memory.retrieve_failures >= RETRIEVE_ATTEMPTS:
                    _fail(job, f"its output files could not be retrieved from the schedd: {err}")
                else:
                    logger.warning("HTCondor: retrieving the outputs of job %s failed (%s); trying again", job.getFQID("."), err)
                retry.add(id(job))
        return retry

    def _check_idle(self, pool: str, module: Any, schedd: Any, jobs: list[Any]) -> None:
        """For jobs idle longer than their ``idle_check``: does any slot in the pool match them? One job per
        cluster is analysed (its procs share requirements)."""
        per_cluster: dict[str, list[Any]] = defaultdict(list)
        for job in jobs:
            per_cluster[job.backend.id.split(".")[0]].append(job)
        try:
            collector = module.Collector(pool) if pool else module.Collector()
            slots = collector.query(module.AdType.Startd)
        except Exception as err:
            logger.debug("HTCondor: idle check skipped, collector query failed: %s", err)
            return
        for cluster, members in per_cluster.items():
            try:
                ads = schedd.query(f"ClusterId == {cluster} && ProcId == {members[0].backend.id.split('.')[1]}")
            except Exception:
                continue
            if not ads:
                continue
            job_ad = ads[0]
            if any(job_ad.symmetricMatch(slot) for slot in slots):
                reason = ""  # it can run: it waits for a free slot
            else:
                requirements = job_ad.lookup("Requirements") if "Requirements" in job_ad else "?"
                reason = (
                    f"no slot in the pool matches this job ({len(slots)} slots checked), so it stays idle. "
                    f"Requirements = {requirements}. Kill it and fix backend.requirements, or wait for a matching machine"
                )
            for job in members:
                self._memory_of(job.backend.id).idle_checked = True
                if job.backend.reason != reason:
                    job.backend.reason = reason


def _said(job: Any) -> tuple[Any, ...]:
    """What HTCondor says about ``job`` that its views show (its state, why, where)."""
    backend = job.backend
    return backend.status, backend.reason, backend.actualCE


def _ended_in_event_log(module: Any, job: Any) -> dict[str, Any] | None:
    """A shared-filesystem job gone from the queue, whose history entry is not written yet: its event log's end."""
    if job.backend.spool:
        return None
    ad = event_log.job_ad(module, job)
    return ad if ad is not None and ad.get("JobStatus") in (3, 4) else None


def _mark_from_history(ad: Any) -> dict[str, Any]:
    values = {key: ad.get(key) for key in PROJECTION if key in ad}
    values["_from_history"] = True
    try:
        values["MemoryUsage"] = ad.eval("MemoryUsage")
    except Exception:
        pass
    return values


def _retrieved(ad: Any) -> bool:
    stage_out = ad.get("StageOutFinish")
    return isinstance(stage_out, (int, float)) and stage_out > 0


def _number(ad: Any, key: str) -> float | None:
    value = ad.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if hasattr(ad, "eval"):
        try:
            value = ad.eval(key)
        except Exception:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
    return None


def _copy_statistics(backend: Any, ad: Any) -> None:
    """Wall and CPU time, memory, and the host, from the job ad."""
    host = ad.get("RemoteHost") or ad.get("LastRemoteHost")
    if isinstance(host, str) and host and backend.actualCE != host:
        backend.actualCE = host
    wall = _number(ad, "RemoteWallClockTime")
    if wall is not None:
        backend.walltime = float(wall)
    user, system = _number(ad, "RemoteUserCpu"), _number(ad, "RemoteSysCpu")
    if user is not None or system is not None:
        backend.cputime = float((user or 0) + (system or 0))
    memory = _number(ad, "MemoryUsage")
    if memory is not None:
        backend.memory = float(memory)


def _held(job: Any, ad: Any, to_remove: list[Any]) -> None:
    code = ad.get("HoldReasonCode")
    if code == SPOOLING_HOLD_CODE:
        job.backend.status = "Spooling input"
        return
    reason = ad.get("HoldReason")
    reason = reason if isinstance(reason, str) else "no reason given"
    if code in USER_HOLD_CODES or not job.backend.fail_on_hold:
        job.backend.reason = f"held: {reason} (HoldReasonCode {code}); condor_release it (backend.release()) or kill the job"
        return
    job.backend.reason = f"HTCondor held the job: {reason} (HoldReasonCode {code}, subcode {ad.get('HoldReasonSubCode')})"
    to_remove.append(job)


def _finish(job: Any, ad: Any) -> None:
    backend = job.backend
    if ad.get("ExitBySignal") is True:
        backend.exitcode = None
        backend.reason = f"the payload was killed by signal {ad.get('ExitSignal')}"
        job.updateStatus("failed", update_master=False)
        return
    code = ad.get("ExitCode")
    backend.exitcode = int(code) if isinstance(code, (int, float)) else None
    if backend.exitcode == 0:
        backend.reason = ""
        job.updateStatus("completed", update_master=False)
    else:
        backend.reason = PAYLOAD_EXIT.format(backend.exitcode)
        job.updateStatus("failed", update_master=False)


def _fail(job: Any, reason: str) -> None:
    """Mark ``job`` failed for a reason HTCondor gave (its scheduler record shows it)."""
    job.backend.reason = reason
    job.updateStatus("failed", update_master=False)


def _idle_for(ad: Any) -> float:
    """Seconds the job has been idle, by the schedd's clock."""
    now, since = ad.get("ServerTime"), ad.get("EnteredCurrentStatus")
    if isinstance(now, int) and isinstance(since, int):
        return float(now - since)
    return 0.0
