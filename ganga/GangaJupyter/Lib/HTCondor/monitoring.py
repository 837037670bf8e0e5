"""Monitoring of HTCondor jobs: per poll, one schedd query (with a projection) for every active job and subjob,
then the schedd's history for jobs that have left the queue.

Runs as one task in Ganga's monitoring thread pool, started by Ganga's loop every ``[PollThread] HTCondor``
seconds. Status changes go through Ganga's ``updateStatus``, from where the views hear of them.

What each HTCondor state becomes (``JobStatus``):

* 1 Idle: ``submitted``; after ``idle_check`` seconds, whether any slot can run it is checked once and a job
  that no slot matches gets that ``reason`` (it stays queued: a matching machine may still join the pool).
* 2 Running, 6 Transferring output, 7 Suspended: ``running``.
* 5 Held: a hold by a user (``condor_hold``, codes 1 and 15) waits for ``condor_release``; HoldReasonCode 16 is
  the normal "spooling input" hold. Any other hold is an error: with ``fail_on_hold`` the job is removed and
  ``failed``, its hold reason in ``reason`` and appended to its stderr; without, it waits like a user hold.
* 4 Completed: spool outputs retrieved into the output directory, then ``completed`` for exit code 0, else
  ``failed``.
* 3 Removed (by someone else than Ganga): ``killed``.

Errors talking to the schedd (it restarts, the network drops) skip the poll; nothing changes until it answers.

Shared-filesystem jobs (``spool=False``) also have their event log in their output directory: GangaJupyter's
status-file watch (inotify) runs :func:`poll` for a job as soon as HTCondor writes an event there, and a job that
has left the queue is decided from its log's last event without waiting for the schedd's history.
"""
from __future__ import annotations

import os
import threading
from collections import defaultdict
from typing import Any, Iterable

from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.logging import getLogger

from . import bindings, event_log
from .description import STDERR

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

_poll_lock = threading.Lock()
_pending_lock = threading.Lock()
_pending: dict[int, Any] = {}  # jobs asked for while a poll ran: polled again when it ends
_missing_polls: dict[str, int] = defaultdict(int)
_retrieve_failures: dict[str, int] = defaultdict(int)
_idle_checked: set[str] = set()
_outage_logged = False


def schedule_poll(masters: Iterable[Any]) -> None:
    """Ganga's per-backend check: hand every active job and subjob to one task on Ganga's thread pool."""
    from GangaCore.Core import monitoring_component

    if monitoring_component is None or not monitoring_component.enabled:
        return
    targets = active_jobs(masters)
    if targets:
        monitoring_component.run_monitoring_task(poll, targets)


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
                if cache[index].get("status") in ("submitted", "running"):
                    targets.append(subjobs[index])
            elif subjobs[index].status in ("submitted", "running"):
                targets.append(subjobs[index])
    return targets


def poll(jobs: list[Any]) -> None:
    """Bring ``jobs`` up to date with the schedd. While another poll runs, ``jobs`` wait for it and are polled
    right after it (an event-log trigger must not be lost to a poll that queried the schedd just before)."""
    with _pending_lock:
        _pending.update((id(job), job) for job in jobs)
    while _pending and _poll_lock.acquire(blocking=False):
        try:
            with _pending_lock:
                todo = list(_pending.values())
                _pending.clear()
            if todo:
                _poll_once(todo)
        finally:
            _poll_lock.release()


def _poll_once(jobs: list[Any]) -> None:
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for job in jobs:
        job = stripProxy(job)
        if job.backend.id and job.status in ("submitted", "running"):
            groups[(job.backend.pool, job.backend.schedd)].append(job)
    for (pool, name), members in groups.items():
        _poll_schedd(pool, name, members)
    masters = {id(j.master): j.master for j in jobs if j.master is not None}
    for master in masters.values():
        master.updateMasterJobStatus()


def _poll_schedd(pool: str, name: str, jobs: list[Any]) -> None:
    global _outage_logged
    by_id = {job.backend.id: job for job in jobs}
    clusters = sorted({int(i.split(".")[0]) for i in by_id})
    constraint = " || ".join(f"ClusterId == {c}" for c in clusters)
    try:
        module = bindings.htcondor2()
        schedd = bindings.schedd(pool, name)
        ads = schedd.query(constraint, PROJECTION)
        found = {f"{ad['ClusterId']}.{ad['ProcId']}": ad for ad in ads}
        missing = [i for i in by_id if i not in found]
        history = {}
        if missing:
            for ad in schedd.history(constraint, PROJECTION, match=len(missing) * 2 + 10):
                history.setdefault(f"{ad['ClusterId']}.{ad['ProcId']}", ad)
    except Exception as err:  # the schedd restarts, the collector is away: try again at the next poll
        if not _outage_logged:
            logger.warning("HTCondor: cannot reach the schedd (%s); jobs keep their status until it answers", err)
            _outage_logged = True
        return
    if _outage_logged:
        logger.info("HTCondor: the schedd answers again")
        _outage_logged = False

    to_retrieve, finished, to_remove, idle = [], [], [], []
    for job_id, job in by_id.items():
        ad = found.get(job_id)
        if ad is None:
            ad = history.get(job_id) or _ended_in_event_log(module, job)
            if ad is None:
                _missing_polls[job_id] += 1
                if _missing_polls[job_id] >= LOST_AFTER_POLLS:
                    _fail(job, "the job left HTCondor's queue and is not in the schedd's history: its outcome is unknown")
                continue
            ad = _mark_from_history(ad)
        _missing_polls.pop(job_id, None)
        status = int(ad.get("JobStatus", 0))
        _copy_statistics(job.backend, ad)
        job.backend.status = STATUS_NAMES.get(status, str(status))
        if status in RUNNING:
            job.backend.reason = ""
            if job.status == "submitted":
                job.updateStatus("running", update_master=False)
        elif status == 1:
            if job.backend.idle_check and job_id not in _idle_checked and _idle_for(ad) >= float(job.backend.idle_check):
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
    not_retrieved = _retrieve(schedd, to_retrieve) if to_retrieve else set()
    for job, ad in finished:
        if id(job) not in not_retrieved and job.status in ("submitted", "running"):
            _finish(job, ad)
    if idle:
        _check_idle(pool, schedd, idle)


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


def _retrieve(schedd: Any, jobs: list[Any]) -> set[int]:
    """Fetch the spooled outputs of ``jobs`` into their output directories: one call for all, or one per job when
    that fails. Returns the ``id()`` of the jobs still to retry; a job whose outputs fail ``RETRIEVE_ATTEMPTS``
    times is failed with HTCondor's message."""
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
            _retrieve_failures.pop(job.backend.id, None)
        except Exception as err:
            _retrieve_failures[job.backend.id] += 1
            if _retrieve_failures[job.backend.id] >= RETRIEVE_ATTEMPTS:
                _fail(job, f"its output files could not be retrieved from the schedd: {err}")
            else:
                logger.warning("HTCondor: retrieving the outputs of job %s failed (%s); trying again", job.getFQID("."), err)
            retry.add(id(job))
    return retry


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
        backend.reason = f"the payload exited with code {backend.exitcode}"
        job.updateStatus("failed", update_master=False)


def _fail(job: Any, reason: str) -> None:
    """Mark ``job`` failed for a reason HTCondor gave (no payload error to show): the reason goes to its stderr."""
    job.backend.reason = reason
    try:
        outputdir = job.getOutputWorkspace(create=True).getPath()
        with open(os.path.join(outputdir, STDERR), "a") as handle:
            handle.write(f"[HTCondor] {reason}\n")
    except OSError as err:
        logger.debug("HTCondor: could not note the failure reason in stderr: %s", err)
    job.updateStatus("failed", update_master=False)


def _idle_for(ad: Any) -> float:
    """Seconds the job has been idle, by the schedd's clock."""
    now, since = ad.get("ServerTime"), ad.get("EnteredCurrentStatus")
    if isinstance(now, int) and isinstance(since, int):
        return float(now - since)
    return 0.0


def _check_idle(pool: str, schedd: Any, jobs: list[Any]) -> None:
    """For jobs idle longer than their ``idle_check``: does any slot in the pool match them? One job per cluster
    is analysed (its procs share requirements)."""
    per_cluster: dict[str, list[Any]] = defaultdict(list)
    for job in jobs:
        per_cluster[job.backend.id.split(".")[0]].append(job)
    if not per_cluster:
        return
    try:
        module = bindings.htcondor2()
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
            _idle_checked.add(job.backend.id)
            if job.backend.reason != reason:
                job.backend.reason = reason
