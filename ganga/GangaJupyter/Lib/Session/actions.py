"""Actions on a job, carried out by the Ganga session that owns the gangadir: for the Jobs browser (requests from
the Jupyter server, see :mod:`.service`) and for the live views' buttons (:mod:`..Widgets.live`).

They use Ganga's own job methods, which take Ganga's locks as its monitoring threads do; nothing runs in the
user's namespace. Each returns an :class:`~..Core.actions.ActionResult`; a refusal is a result, never a traceback.
"""
from __future__ import annotations

from typing import Any, Callable

from ..Core.actions import ACTIONS, RESUBMITTABLE, ActionResult
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


def perform(action: str, job_id: Any) -> ActionResult:
    """The Jobs browser's request: ``action`` on job ``job_id`` of this session's repository."""
    if action not in PERFORM:
        return ActionResult.error(f"Unknown action {action!r}: the Jobs browser knows {', '.join(ACTIONS)}.")
    from GangaCore.Core.GangaRepository import getRegistry
    from GangaCore.GPIDev.Base.Proxy import addProxy

    try:
        job = addProxy(getRegistry("jobs")[int(job_id)])
    except Exception:
        return ActionResult.error(f"Job {job_id} is not in the repository (it may have been removed).")
    try:
        return PERFORM[action](job)
    except Exception as err:  # a Ganga refusal (e.g. the job is locked by another Ganga session) is the message
        return ActionResult.error(f"{action} of job {job_id} failed: {err}")
