"""The Jobs browser's actions, carried out inside the Ganga session that owns the gangadir (see :mod:`.sessions`).

They run on the session's request thread through Ganga's own job methods, which take Ganga's locks as any
monitoring thread does; nothing runs in the user's namespace. Every refusal comes back as a message.
"""
from __future__ import annotations

from typing import Any, Callable

ACTIVE = ("submitting", "submitted", "running", "completing")


def _job(job_id: int) -> Any:
    from GangaCore.Core.GangaRepository import getRegistry
    from GangaCore.GPIDev.Base.Proxy import addProxy

    return addProxy(getRegistry("jobs")[job_id])


def kill(job: Any) -> str:
    if job.status not in ACTIVE:
        return f"Job {job.id} is {job.status}: there is nothing to kill."
    job.kill()
    return f"Killed job {job.id}."


def resubmit_failed(job: Any) -> str:
    if len(job.subjobs):
        failed = [sj for sj in job.subjobs if sj.status in ("failed", "killed")]
        if not failed:
            return f"No subjob of job {job.id} failed: nothing to resubmit."
        for sj in failed:
            sj.resubmit()
        return f"Resubmitted {len(failed)} failed subjob(s) of job {job.id}."
    if job.status not in ("failed", "killed"):
        return f"Job {job.id} is {job.status}: nothing failed, nothing to resubmit."
    job.resubmit()
    return f"Resubmitted job {job.id}."


def remove(job: Any) -> str:
    job_id = job.id
    job.remove()
    return f"Removed job {job_id}."


ACTIONS: dict[str, Callable[[Any], str]] = {"kill": kill, "resubmit": resubmit_failed, "remove": remove}


def perform(action: str, job_id: Any) -> tuple[bool, str]:
    """``(done, message)`` for ``action`` on job ``job_id``."""
    if action not in ACTIONS:
        return False, f"Unknown action {action!r}: the Jobs browser knows {', '.join(sorted(ACTIONS))}."
    try:
        job = _job(int(job_id))
    except Exception:
        return False, f"Job {job_id} is not in the repository (it may have been removed)."
    try:
        return True, ACTIONS[action](job)
    except Exception as err:  # a Ganga refusal (e.g. the job is locked by another Ganga session) is the message
        return False, f"{action} of job {job_id} failed: {err}"
