"""A job's HTCondor event log (``condorLog``, written in place in shared-filesystem mode), read as a job ad.

A job that ends leaves the schedd's queue before its ad reaches the history file; the event log already has the
``JobTerminatedEvent`` (or ``JobAbortedEvent``) by then, so monitoring can decide at once instead of waiting for
the history. The log is short (a dozen events per run) and read whole each time: no file stays open per job.
"""
from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Any

from .description import EVENT_LOG

_USAGE = re.compile(r"Usr (\d+) (\d+):(\d+):(\d+), Sys (\d+) (\d+):(\d+):(\d+)")


def path(job: Any) -> str:
    return os.path.join(job.getOutputWorkspace(create=False).getPath(), EVENT_LOG)


def _seconds(usage: Any) -> tuple[float, float] | None:
    """``"Usr 0 00:00:01, Sys 0 00:00:00"`` as (user, system) seconds."""
    match = _USAGE.match(usage) if isinstance(usage, str) else None
    if match is None:
        return None
    d1, h1, m1, s1, d2, h2, m2, s2 = (int(g) for g in match.groups())
    return float(((d1 * 24 + h1) * 60 + m1) * 60 + s1), float(((d2 * 24 + h2) * 60 + m2) * 60 + s2)


def _time(event: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(event.get("EventTime"))).timestamp()
    except ValueError:
        return None


def job_ad(module: Any, job: Any) -> dict[str, Any] | None:
    """What the event log of ``job`` says about its current run (HTCondor id ``job.backend.id``), with the
    attribute names of a job ad; ``None`` when the log has nothing about it."""
    try:
        log = module.JobEventLog(path(job))
    except Exception:  # not there (yet), or not readable: the schedd decides
        return None
    cluster, proc = (int(part) for part in job.backend.id.split("."))
    kinds = module.JobEventType
    ad: dict[str, Any] = {}
    started = None
    try:
        for event in log.events(stop_after=0):
            if event.cluster != cluster or event.proc != proc:
                continue  # an earlier run of a resubmitted job
            kind = event.type
            if kind == kinds.SUBMIT or kind in (kinds.JOB_EVICTED, kinds.JOB_RELEASED):
                ad["JobStatus"] = 1
            elif kind == kinds.EXECUTE:
                ad["JobStatus"], started = 2, _time(event)
                ad["RemoteHost"] = event.get("SlotName")
            elif kind == kinds.IMAGE_SIZE:
                ad["MemoryUsage"] = event.get("MemoryUsage")
            elif kind == kinds.JOB_HELD:
                ad.update(JobStatus=5, HoldReason=event.get("HoldReason"), HoldReasonCode=event.get("HoldReasonCode"),
                          HoldReasonSubCode=event.get("HoldReasonSubCode"))
            elif kind == kinds.JOB_ABORTED:
                ad.update(JobStatus=3, RemoveReason=event.get("Reason"))
            elif kind == kinds.JOB_TERMINATED:
                normal = bool(event.get("TerminatedNormally"))
                ad.update(JobStatus=4, ExitBySignal=not normal, ExitCode=event.get("ReturnValue") if normal else None,
                          ExitSignal=event.get("TerminatedBySignal"))
                if event.get("MemoryUsage") is not None:
                    ad["MemoryUsage"] = event.get("MemoryUsage")
                usage = _seconds(event.get("RunRemoteUsage"))
                if usage is not None:
                    ad["RemoteUserCpu"], ad["RemoteSysCpu"] = usage
                ended = _time(event)
                if started is not None and ended is not None:
                    ad["RemoteWallClockTime"] = max(0.0, ended - started)
    except Exception:  # a line being written as we read: what came before it stands
        pass
    finally:
        log.close()
    return ad or None
