"""Actions on a job, carried out by the Ganga session that owns the gangadir: for the Jobs browser (requests from
the Jupyter server, see :mod:`.sessions`) and for the live views' buttons (:mod:`..Widgets.live`).

They use Ganga's own job methods, which take Ganga's locks as its monitoring threads do; nothing runs in the
user's namespace. Each returns ``(message, level)``; a refusal is a message, never a traceback.
"""
from __future__ import annotations

from typing import Any, Callable

from ..Core.statuses import ACTIVE


def kill(job: Any) -> tuple[str, str]:
    if job.status not in ACTIVE:
        return f"Job {job.fqid} is {job.status}: there is nothing to kill.", "info"
    job.kill()
    return f"Killed job {job.fqid}.", "success"


def resubmit_failed(job: Any) -> tuple[str, str]:
    """Resubmit the failed (or killed) subjobs of a split job, or the job itself when it failed."""
    if len(job.subjobs):
        failed = [sj for sj in job.subjobs if sj.status in ("failed", "killed")]
        if not failed:
            return f"No subjob of job {job.fqid} failed: nothing to resubmit.", "info"
        for sj in failed:
            sj.resubmit()
        return f"Resubmitted {len(failed)} failed subjob(s) of job {job.fqid}.", "success"
    if job.status not in ("failed", "killed"):
        return f"Job {job.fqid} is {job.status}: nothing failed, nothing to resubmit.", "info"
    job.resubmit()
    return f"Resubmitted job {job.fqid}.", "success"


def remove(job: Any) -> tuple[str, str]:
    fqid = job.fqid
    job.remove()
    return f"Removed job {fqid}.", "success"


ACTIONS: dict[str, Callable[[Any], tuple[str, str]]] = {"kill": kill, "resubmit": resubmit_failed, "remove": remove}


def perform(action: str, job_id: Any) -> tuple[bool, str]:
    """``(done, message)`` for a request of the Jobs browser: ``action`` on job ``job_id`` of this session."""
    from GangaCore.Core.GangaRepository import getRegistry
    from GangaCore.GPIDev.Base.Proxy import addProxy

    if action not in ACTIONS:
        return False, f"Unknown action {action!r}: the Jobs browser knows {', '.join(sorted(ACTIONS))}."
    try:
        job = addProxy(getRegistry("jobs")[int(job_id)])
    except Exception:
        return False, f"Job {job_id} is not in the repository (it may have been removed)."
    try:
        message, level = ACTIONS[action](job)
    except Exception as err:  # a Ganga refusal (e.g. the job is locked by another Ganga session) is the message
        return False, f"{action} of job {job_id} failed: {err}"
    return level != "error", message
