"""A job's runs as the pictures draw them (:class:`..Core.pictures.Run`), read from Ganga's files without Ganga.

For each subjob of a split job (for a job without subjobs, the job itself): its status (the repository index's,
with the sessions' journal applied), Ganga's timestamps and its backend's fields from its ``data`` XML (where it
ran, its exit code, why it failed, and the accounting figures a backend keeps there: ``walltime``, ``cputime``,
``memory``), and the scheduler record kept next to its outputs (:mod:`..Core.scheduler_record`). A failed run's
error group is the record's reason, else the backend's, else the last line of its stderr, else its exit code.

Files are read like the rest of the repository: bounded in size, never through a symbolic link (every folder on
the way inside the job's is opened with ``O_NOFOLLOW``) nor from a FIFO; a file that is not what Ganga writes
counts as missing. Each parsed file is kept per version (mtime, size, inode), so a 10,000-subjob job is read once
and then only what changed; one request parses files for at most :attr:`RunReader.read_seconds` and says how many
are left, which the next requests read.
"""
from __future__ import annotations

import json
import math
import os
import stat
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from ..Core import scheduler_record
from ..Core.figures import megabytes, seconds
from ..Core.job_files import last_lines, read_without_links
from ..Core.location import GangaLocation
from ..Core.pictures import Run
from ..Core.scheduler_record import SchedulerRecord
from ..Core.statuses import FINISHED
from ..Core.text import strip_ansi
from .repository import MAX_DATA_BYTES, Journal, JobSummary, data_values, epoch

#: Subjobs drawn (the first ones); a job with more says so.
MAX_RUNS = 20_000
#: Seconds one request may spend parsing files (at least one is parsed); the page asks again for the rest.
READ_SECONDS = 0.5
#: Jobs whose parsed files are kept (the page shows one at a time; a few more for going back and forth).
JOBS_KEPT = 4
#: Bytes read from the end of a failed run's stderr for its last line.
STDERR_TAIL = 16 * 1024
#: Statuses in which Ganga's start time is not this run's (a resubmitted subjob keeps its last run's).
_NOT_STARTED = ("new", "submitting", "submitted")

T = TypeVar("T")
Version = tuple[int, int, int]  # st_mtime_ns, st_size, st_ino


def _version(path: str) -> Version | None:
    """The version of regular file ``path``; None when it is missing, a link or not a regular file."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def _figure(value: Any, parse: Callable[[str], float | None]) -> float | None:
    """A figure from a record's text or a backend's field (a number, or text as the batch system writes it)."""
    if isinstance(value, str):
        value = parse(value) if value else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class _Facts:
    """What one file says about a run, digested once per version of the file: a ``data`` XML's backend fields and
    timestamps, or a scheduler record (which has no timestamps, and no exit code)."""

    stamps: dict[str, float] = field(default_factory=dict)  # Ganga's timestamps, Unix time
    node: str = ""
    reason: str = ""
    exit_code: int | None = None
    wall: float | None = None
    cpu: float | None = None
    memory: float | None = None


_NONE = _Facts()


def _data_facts(raw: bytes | None) -> _Facts:
    values = data_values(raw)
    if values is None:
        return _NONE
    stamps = {name: when for name, parts in values["timestamps"].items() if (when := epoch(parts)) is not None}
    fields = values["backend_fields"]
    code = fields["exitcode"]
    return _Facts(
        stamps=stamps,
        node=_text(fields["actualCE"]),
        reason=_text(fields["reason"]),
        exit_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        wall=_figure(fields["walltime"], seconds),
        cpu=_figure(fields["cputime"], seconds),
        memory=_figure(fields["memory"], megabytes),
    )


def _record_facts(raw: bytes | None) -> _Facts:
    try:
        record = SchedulerRecord.from_mapping(json.loads(raw)) if raw is not None else SchedulerRecord()
    except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError), or nested too deep
        return _NONE
    return _Facts(
        node=record.nodes,
        reason=record.reason,
        wall=_figure(record.wall_time, seconds),
        cpu=_figure(record.cpu_time, seconds),
        memory=_figure(record.max_memory, megabytes),
    )


LAST_LINES = 200  # of a failed run's stderr tail, enough to find its last non-empty line


def _last_line(raw: bytes | None) -> str:
    text = strip_ansi(last_lines(raw or b"", LAST_LINES))
    return next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")


@dataclass
class _Kept:
    """The digested files of one job, by subjob number (-1: the job itself), each with the version it was read
    at."""

    data: dict[int, tuple[Version, _Facts]] = field(default_factory=dict)
    records: dict[int, tuple[Version, _Facts]] = field(default_factory=dict)
    stderr: dict[int, tuple[Version, str]] = field(default_factory=dict)


class _Pass:
    """One request's reading: files unchanged since they were parsed come from memory, others are parsed until
    ``seconds`` have passed, and the rest are counted as pending (their last version, if any, stands in)."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self.parsed = 0
        self.pending = 0

    def get(
        self, kept: dict[int, tuple[Version, T]], key: int, root: str, relative: str,
        parse: Callable[[bytes | None], T], limit: int, tail: bool = False,
    ) -> T | None:  # fmt: skip
        version = _version(f"{root}/{relative}")
        if version is None:
            kept.pop(key, None)
            return None
        old = kept.get(key)
        if old is not None and old[0] == version:
            return old[1]
        if self.parsed and time.monotonic() > self.deadline:
            self.pending += 1
            return old[1] if old is not None else None
        self.parsed += 1
        value = parse(read_without_links(root, relative, limit, tail))  # a file replaced since the version was
        kept[key] = (version, value)  # taken has a newer one: it is parsed again next time
        return value


@dataclass(frozen=True)
class JobRuns:
    """What one request read of a job."""

    runs: list[Run]
    subjobs: int  # the job's subjobs (0: a job without subjobs, drawn as its one run)
    parsed: int  # files parsed by this request
    pending: int  # files not parsed yet (new or changed): the next request parses them

    @property
    def capped(self) -> bool:
        return self.subjobs > MAX_RUNS


class RunReader:
    """The runs of the jobs the page asks about; safe to call from any thread (one reads at a time)."""

    read_seconds = READ_SECONDS

    def __init__(self, location: GangaLocation, journal: Journal | None = None):
        self.location = location
        self.journal = journal
        self._kept: OrderedDict[int, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def runs(self, job: JobSummary) -> JobRuns:
        """The runs of ``job`` (its subjobs, the first :data:`MAX_RUNS` of them, or the job itself)."""
        with self._lock:
            kept = self._kept.pop(job.id, None) or _Kept()
            self._kept[job.id] = kept
            while len(self._kept) > JOBS_KEPT:
                self._kept.popitem(last=False)
            one = _Pass(self.read_seconds)
            roots = (f"{self.location.jobs}/{job.id // 1000}xxx", str(self.location.workspace))
            if job.subjobs:
                shown = enumerate(job.subjobs[:MAX_RUNS])
                runs = [self._run(one, kept, roots, job.id, k, status) for k, status in shown]
            else:
                runs = [self._run(one, kept, roots, job.id, None, job.status)]
        return JobRuns(runs, len(job.subjobs), one.parsed, one.pending)

    def _run(self, one: _Pass, kept: _Kept, roots: tuple[str, str], job_id: int, k: int | None, status: str) -> Run:
        repository, workspace = roots
        key, fqid, folder = (-1, str(job_id), str(job_id)) if k is None else (k, f"{job_id}.{k}", f"{job_id}/{k}")
        data = one.get(kept.data, key, repository, f"{folder}/data", _data_facts, MAX_DATA_BYTES) or _NONE
        record = (
            one.get(kept.records, key, workspace, f"{folder}/output/{scheduler_record.FILENAME}", _record_facts,
                    scheduler_record.MAX_FILE) or _NONE
        )  # fmt: skip
        stamps = data.stamps
        started = None if status in _NOT_STARTED else stamps.get("backend_running") or stamps.get("running")
        finished = stamps.get("backend_final") or stamps.get("final") if status in FINISHED else None
        change = self.journal.latest.get(fqid) if self.journal is not None else None
        if change is not None and change[0] == status:  # the journal has what the files do not have yet
            started = change[1] if status == "running" and started is None else started
            finished = change[1] if status in FINISHED and finished is None else finished
        error = ""
        if status == "failed":
            error = (
                record.reason
                or data.reason
                or one.get(kept.stderr, key, workspace, f"{folder}/output/stderr", _last_line, STDERR_TAIL, tail=True)
                or (f"exit code {data.exit_code}" if data.exit_code is not None else "")
            )
        return Run(
            fqid=fqid,
            status=status,
            submitted=stamps.get("submitted"),
            started=started,
            finished=finished,
            node=record.node or data.node,
            wall=record.wall if record.wall is not None else data.wall,
            cpu=record.cpu if record.cpu is not None else data.cpu,
            memory=record.memory if record.memory is not None else data.memory,
            error=error,
        )
