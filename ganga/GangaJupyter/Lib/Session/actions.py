"""Actions on a job, carried out in a Ganga session: for the Jobs browser (requests from the Jupyter server, see
:mod:`.service`), for the live views' buttons (:mod:`..Widgets.live`), and the Ganga calls another session on the
gangadir asks of the session that holds the job (:func:`call`).

They use Ganga's own job methods, which take Ganga's locks as its monitoring threads do; nothing runs in the
user's namespace. Each returns an :class:`~..Core.actions.ActionResult`; a refusal is a result, never a traceback.
"""
from __future__ import annotations

from typing import Any, Callable

from ..Core.actions import ACTIONS, RESUBMITTABLE, ActionResult
from ..Core.protocol import FQID, JOB_CALLS
from ..Core.statuses import ACTIVE


def kill(job: Any) -> ActionResult:
    if job.status not in ACTIVE:
        return ActionResult.info(f"Job {job.fqid} is {job.status}: there is nothing to kill.")
    job.kill()
    return ActionResult.success(f"Killed job {job.fqid}.")


def resubmit_failed(job: Any) -> ActionResult:
    """Resubmit the failed (or killed) subjobs of a split job, or the job itself when it failed."""
    if len(job.subjobs):
        failed = [sj for sj in job.subjobs if sj.status in RESUBMITTABLE]
        if not failed:
            return ActionResult.info(f"No subjob of job {job.fqid} failed: nothing to resubmit.")
        for sj in failed:
            sj.resubmit()
        return ActionResult.success(f"Resubmitted {len(failed)} failed subjob(s) of job {job.fqid}.")
    if job.status not in RESUBMITTABLE:
        return ActionResult.info(f"Job {job.fqid} is {job.status}: nothing failed, nothing to resubmit.")
    job.resubmit()
    return ActionResult.success(f"Resubmitted job {job.fqid}.")


def remove(job: Any) -> ActionResult:
    fqid = job.fqid
    job.remove()
    return ActionResult.success(f"Removed job {fqid}.")


#: Each action's function, in the order of ACTIONS.
PERFORM: dict[str, Callable[[Any], ActionResult]] = dict(zip(ACTIONS, (kill, resubmit_failed, remove)))


def _job(fqid: Any) -> Any:
    """The job or subjob ``fqid`` ("12", "12.3", or an int) of this session's repository, as Ganga's proxy;
    LookupError when there is none."""
    from GangaCore.Core.GangaRepository import getRegistry
    from GangaCore.GPIDev.Base.Proxy import addProxy

    text = str(fqid)
    if not FQID.fullmatch(text):
        raise LookupError(fqid)
    master, *subjobs = (int(part) for part in text.split("."))
    try:
        job = getRegistry("jobs")[master]
        for index in subjobs:
            job = job.subjobs[index]
    except Exception as err:
        raise LookupError(fqid) from err
    return addProxy(job)


def call(method: str, fqid: Any) -> ActionResult:
    """Ganga's ``method`` (one of ``JOB_CALLS``: ``job.kill``, ...) on job ``fqid``, which this session holds, for
    another session whose user made the call; the refusal is the message Ganga gave."""
    if method not in JOB_CALLS:
        return ActionResult.error(f"Unknown call {method!r}: a session takes {', '.join(JOB_CALLS)}.")
    try:
        job = _job(fqid)
    except LookupError:
        return ActionResult.error(f"Job {fqid} is not in the repository (it may have been removed).")
    from .sharing import flush_jobs, serving_a_call

    try:
        with serving_a_call():
            getattr(job, method.split(".", 1)[1])()
    except Exception as err:
        return ActionResult.error(f"{method.split('.', 1)[1]} of job {fqid} failed: {err}")
    flush_jobs([str(fqid)])  # the caller reads the job from disk once answered
    return ActionResult.success(f"{method} {fqid}")


def perform(action: str, job_id: Any) -> ActionResult:
    """The Jobs browser's request: ``action`` on job ``job_id`` of this session's repository."""
    if action not in PERFORM:
        return ActionResult.error(f"Unknown action {action!r}: the Jobs browser knows {', '.join(ACTIONS)}.")
    try:
        job = _job(job_id)
    except LookupError:
        return ActionResult.error(f"Job {job_id} is not in the repository (it may have been removed).")
    from GangaCore.GPIDev.Base.Proxy import stripProxy

    from .sharing import JobHeldElsewhere, reachable_holder

    try:
        reachable_holder(stripProxy(job), action)  # what this session knows of such a job may be 30 s old
        return PERFORM[action](job)
    except JobHeldElsewhere as err:
        return ActionResult.error(str(err))
    except Exception as err:  # a Ganga refusal (e.g. the job is locked by another Ganga session) is the message
        return ActionResult.error(f"{action} of job {job_id} failed: {err}")
