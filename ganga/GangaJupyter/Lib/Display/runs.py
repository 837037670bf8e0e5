"""A job's runs as the pictures need them (:class:`..Core.pictures.Run`), read from Ganga without loading more.

A subjob that is not loaded has only its index entry in memory (its status); reading it would load it from disk,
so for a 10,000-subjob job only the loaded subjobs bring their times and figures. Times are Ganga's own stamps
(``job.time.timestamps``: UTC); the node, wall time, CPU time and peak memory are the backend adapter's
scheduler record, read back into numbers.

A live view redraws a split job's card many times, and reading a subjob's record costs a Ganga workspace lookup
and a file read, so each subjob's run is kept until its status, its error group or its record file changes.
"""
from __future__ import annotations

import os
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from GangaCore.GPIDev.Base.Objects import GangaObject

from ..Backends import adapter_for
from ..Core import scheduler_record
from ..Core.figures import megabytes, seconds
from ..Core.pictures import Run
from ..Core.statuses import ACTIVE

#: Seconds: the backends' stamps (Local's and Batch's ``__jobstatus__``) are cut to the second, Ganga's are not.
STAMP_RESOLUTION = 1.0


def _epoch(when: Any) -> float | None:
    """Epoch seconds of one of Ganga's timestamps (naive datetimes in UTC)."""
    if not isinstance(when, datetime):
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def _first(stamps: Mapping[str, Any], *keys: str) -> float | None:
    return next((t for t in (_epoch(stamps.get(k)) for k in keys) if t is not None), None)


def run_of(job: GangaObject, fqid: str, error: str = "") -> Run:
    """The run of a loaded job or subjob."""
    data = job._data
    status = data.get("status") or "unknown"
    time_obj = data.get("time")
    stamps = getattr(time_obj, "_data", {}).get("timestamps") or {}
    submitted = _first(stamps, "submitted", "submitting")
    started = _first(stamps, "backend_running", "running")
    # A resubmitted job keeps the stamps of its earlier run until it reaches them again: drop those older than the
    # stamps before them (backends' stamps are whole seconds: older by more than that), and an end while active.
    if started is not None and submitted is not None and started < submitted - STAMP_RESOLUTION:
        started = None
    finished = None if status in ACTIVE or status == "new" else _first(stamps, "backend_final", "final")
    floor = started if started is not None else submitted
    if finished is not None and floor is not None and finished < floor - STAMP_RESOLUTION:
        finished = None
    record = adapter_for(job).scheduler_record(job) if status != "new" else None
    return Run(
        fqid=fqid,
        status=status,
        submitted=submitted,
        started=started,
        finished=finished,
        node=record.nodes if record else "",
        wall=seconds(record.wall_time) if record else None,
        cpu=seconds(record.cpu_time) if record else None,
        memory=megabytes(record.max_memory) if record else None,
        error=error if status == "failed" else "",
    )


@dataclass(frozen=True)
class _Kept:
    job: weakref.ref
    record_file: str
    key: tuple[Any, ...]  # (status, the record file's version, error group): the run is valid while they are
    run: Run


_kept: dict[int, _Kept] = {}  # id(subjob) -> its run; an entry goes when its subjob does


def _forget(key: int) -> None:
    _kept.pop(key, None)


def _kept_run(job: GangaObject, fqid: str, error: str) -> Run:
    """:func:`run_of`, read again only when the job's status, error group or scheduler record file has changed
    (its node, figures and stamps change with one of these; the stamps with the status)."""
    kept = _kept.get(id(job))
    if kept is None or kept.job() is not job:
        record_file = os.path.join(job.getOutputWorkspace(create=False).getPath(), scheduler_record.FILENAME)
        ref = weakref.ref(job, lambda _, key=id(job): _forget(key))
    else:
        record_file, ref = kept.record_file, kept.job
    try:
        stat = os.stat(record_file)
        version: tuple[int, int] | None = (stat.st_ino, stat.st_mtime_ns)  # each write is a new file (a rename)
    except OSError:
        version = None
    key = (job._data.get("status"), version, error)
    if kept is not None and kept.job is ref and kept.key == key:
        return kept.run
    run = run_of(job, fqid, error)
    _kept[id(job)] = _Kept(ref, record_file, key, run)
    return run


def runs_of(job: GangaObject, errors: Mapping[str, str] | None = None) -> list[Run]:
    """The runs of a job's subjobs (of the job itself when it has none); ``errors``: fqid -> error group of the
    failed subjobs grouped so far (the job record's failure groups). Unloaded subjobs give their status only."""
    fqid = job.getFQID(".")
    errors = errors or {}
    subjobs = job._data.get("subjobs") or []
    if not len(subjobs):
        return [run_of(job, fqid, errors.get(fqid, ""))]
    runs = []
    index = getattr(subjobs, "_subjobIndexData", None) if hasattr(subjobs, "isLoaded") else None
    if index is None:  # in memory: a GangaList holds the subjobs themselves
        for i, sj in enumerate(getattr(subjobs, "_list", subjobs)):
            name = f"{fqid}.{i}"
            runs.append(_kept_run(sj, name, errors.get(name, "")))
        return runs
    for i in range(len(subjobs)):
        name = f"{fqid}.{i}"
        if not subjobs.isLoaded(i) and i in index:
            runs.append(Run(name, index[i].get("status") or "unknown"))
        else:
            runs.append(_kept_run(subjobs[i], name, errors.get(name, "")))
    return runs
