"""A read-only view of Ganga's XML job repository for the Jupyter server, kept live without a Ganga session.

Ganga writes three things per job (``GangaRepositoryXML``): ``<N>.index`` (a pickle of the index cache: status,
name, display columns, subjob statuses) when the job is created and when its session ends, ``<N>/data`` (the job's
XML) whenever the job is flushed (at submit, kill, remove, and every ``[Registry] AutoFlusherWaitTime`` seconds),
and ``<N>/subjobs.idx`` with its subjobs. The server reads these without locks (Ganga replaces ``data`` by a rename,
so a reader sees the old or the new file, never half of one), newest source first. Ganga flushes status changes
only every 30 s, so sessions running GangaJupyter also append every status change to a journal
(``<gangadir>/jupyter/sessions/<session>.events``, see :mod:`.sessions`); a change there newer than the file it
overrides wins. inotify (watchdog) tells the server which files changed.
"""
from __future__ import annotations

import ast
import html
import io
import json
import os
import pickle
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

from ..statuses import ACTIVE, STATUS_ORDER, ordered_counts
from .location import GangaLocation


#: Class names in Ganga's index that differ from the GPI names users know.
GPI_NAMES = {"Localhost": "Local"}

_TOP_VALUE = re.compile(r'^    <attribute name="(status|name|comment)">\s*\n\s*<value>(.*?)</value>', re.M | re.S)
_TOP_CLASS = re.compile(r'^    <attribute name="(application|backend)">\s*\n\s*<class name="(\w+)"', re.M)
_ACTUAL_CE = re.compile(r'<attribute name="actualCE">\s*\n\s*<value>(.*?)</value>', re.S)
_TIMESTAMP = re.compile(r"'(new|submitted)': datetime\.datetime\(([\d, ]+)\)")


class _IndexUnpickler(pickle.Unpickler):
    """Ganga's index files hold plain Python values; refuse anything else (the server never runs file content)."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a Ganga index file")


def _load_pickle(path: Path) -> Any:
    with path.open("rb") as handle:
        return _IndexUnpickler(io.BytesIO(handle.read())).load()


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(html.unescape(text.strip()))
    except (ValueError, SyntaxError):
        return None


@dataclass
class JobSummary:
    """What the Jobs browser shows of one job."""

    id: int
    status: str = "unknown"
    name: str = ""
    comment: str = ""
    application: str = ""
    backend: str = ""
    host: str = ""
    subjobs: list[str] = field(default_factory=list)
    created: float | None = None
    submitted: float | None = None
    status_time: float = 0.0  # when the status read from disk was written
    subjobs_time: float = 0.0

    def counts(self) -> list[tuple[str, int]]:
        return ordered_counts(self.subjobs)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "name": self.name,
            "comment": self.comment,
            "application": self.application,
            "backend": self.backend,
            "host": self.host,
            "subjobs": len(self.subjobs),
            "subjob_counts": self.counts(),
            "created": self.created,
            "submitted": self.submitted,
        }


def _epoch(parts: str) -> float | None:
    try:
        return datetime(*(int(p) for p in parts.split(","))).timestamp()
    except (TypeError, ValueError):
        return None


def job_paths(location: GangaLocation, job_id: int) -> tuple[Path, Path, Path]:
    chunk = location.jobs / f"{job_id // 1000}xxx"
    return chunk / f"{job_id}.index", chunk / str(job_id) / "data", chunk / str(job_id) / "subjobs.idx"


def read_job(location: GangaLocation, job_id: int) -> JobSummary | None:
    """The job as its newest files on disk describe it, or None when it is not (or no longer) in the repository."""
    index_path, data_path, subjobs_path = job_paths(location, job_id)
    job = JobSummary(id=job_id)
    found = False
    try:
        category, _cls, cache = _load_pickle(index_path)
        if category == "jobs" and isinstance(cache, dict):
            found = True
            job.status = str(cache.get("status") or "unknown")
            job.name = str(cache.get("name") or "")
            job.comment = str(cache.get("comment") or "")
            job.application = GPI_NAMES.get(cache.get("display:application", ""), cache.get("display:application", ""))
            job.backend = GPI_NAMES.get(cache.get("display:backend", ""), cache.get("display:backend", ""))
            job.host = str(cache.get("display:backend.actualCE") or "")
            job.subjobs = [str(s) for s in cache.get("subjobs:status") or []]
            job.status_time = job.subjobs_time = index_path.stat().st_mtime
    except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
        pass  # missing, being written, or not an index: the data file may still say more
    try:
        data_time = data_path.stat().st_mtime
        text = data_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return job if found else None
    values = {name: _literal(value) for name, value in _TOP_VALUE.findall(text)}
    if isinstance(values.get("status"), str):
        found = True
        if data_time >= job.status_time:
            job.status = values["status"]
            job.status_time = data_time
            job.name = str(values.get("name") or "")
            job.comment = str(values.get("comment") or "")
            classes = dict(_TOP_CLASS.findall(text))
            job.application = classes.get("application", job.application)
            job.backend = classes.get("backend", job.backend)
            ce = _ACTUAL_CE.search(text)
            job.host = str(_literal(ce.group(1)) or "") if ce else job.host
    stamps = dict(_TIMESTAMP.findall(text))
    job.created = _epoch(stamps["new"]) if "new" in stamps else None
    job.submitted = _epoch(stamps["submitted"]) if "submitted" in stamps else None
    try:
        if subjobs_path.stat().st_mtime >= job.subjobs_time:
            entries = _load_pickle(subjobs_path)
            job.subjobs = [str(entries[k].get("status") or "unknown") for k in sorted(entries)]
            job.subjobs_time = subjobs_path.stat().st_mtime
    except (OSError, EOFError, ValueError, TypeError, AttributeError, KeyError, pickle.UnpicklingError):
        pass
    return job if found else None


def list_job_ids(location: GangaLocation) -> list[int]:
    ids: set[int] = set()
    try:
        chunks = [c for c in os.listdir(location.jobs) if c.endswith("xxx") and c[:-3].isdigit()]
    except OSError:
        return []
    for chunk in chunks:
        try:
            names = os.listdir(location.jobs / chunk)
        except OSError:
            continue
        for name in names:
            stem = name[:-6] if name.endswith(".index") else name
            if stem.isdigit():
                ids.add(int(stem))
    return sorted(ids)


@dataclass(frozen=True)
class Query:
    """A page request: filters, sort and page, as the JSON API takes them."""

    page: int = 1
    page_size: int = 50
    sort: str = "id"
    descending: bool = True
    status: frozenset[str] = frozenset()
    backend: str = ""
    application: str = ""
    name: str = ""
    since: float | None = None


SORT_KEYS: dict[str, Callable[[JobSummary], Any]] = {
    "id": lambda j: j.id,
    "status": lambda j: (j.status, j.id),
    "name": lambda j: (j.name.lower(), j.id),
    "application": lambda j: (j.application, j.id),
    "backend": lambda j: (j.backend, j.id),
    "subjobs": lambda j: (len(j.subjobs), j.id),
    "created": lambda j: (j.created or 0.0, j.id),
    "submitted": lambda j: (j.submitted or 0.0, j.id),
}


class Journal:
    """The status changes GangaJupyter sessions append to ``<gangadir>/jupyter/sessions/*.events``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._offsets: dict[Path, tuple[int, int]] = {}  # path -> (inode, bytes read)
        self.latest: dict[str, tuple[str, float]] = {}  # fqid -> (status, time)

    def read(self, paths: Iterable[Path] | None = None) -> set[int]:
        """Read what was appended since the last call; returns the ids of the master jobs concerned."""
        if paths is None:
            try:
                paths = list(self.folder.glob("*.events"))
            except OSError:
                return set()
        touched: set[int] = set()
        for path in paths:
            inode, offset = self._offsets.get(path, (0, 0))
            try:
                with path.open("rb") as handle:
                    stat = os.fstat(handle.fileno())
                    if stat.st_ino != inode or stat.st_size < offset:  # the session compacted its journal
                        offset = 0
                    handle.seek(offset)
                    data = handle.read()
            except OSError:
                continue
            complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
            self._offsets[path] = (stat.st_ino, offset + len(complete))
            for line in complete.splitlines():
                try:
                    entry = json.loads(line)
                    changes = entry["changes"]
                except (ValueError, KeyError, TypeError):
                    continue
                for fqid, (status, when) in changes.items():
                    known = self.latest.get(fqid)
                    if known is None or when >= known[1]:
                        self.latest[fqid] = (str(status), float(when))
                    head = str(fqid).split(".", 1)[0]
                    if head.isdigit():
                        touched.add(int(head))
        return touched

    def apply(self, job: JobSummary) -> JobSummary:
        """``job`` with the journal's newer statuses (of the job and of its subjobs) applied."""
        mine = self.latest.get(str(job.id))
        if mine and mine[1] > job.status_time:
            job.status = mine[0]
        if job.subjobs:
            prefix = f"{job.id}."
            for k in range(len(job.subjobs)):
                change = self.latest.get(prefix + str(k))
                if change and change[1] > job.subjobs_time:
                    job.subjobs[k] = change[0]
        return job


class RepositoryIndex:
    """All jobs of one repository in memory, refreshed from disk as files change; safe to query from any thread."""

    def __init__(self, location: GangaLocation):
        self.location = location
        self.journal = Journal(location.jupyter / "sessions")
        self._jobs: dict[int, JobSummary] = {}
        self._lock = threading.Lock()
        self.version = 0
        self.loaded = threading.Event()
        self._listeners: dict[int, Callable[[int], None]] = {}

    # ------------------------------------------------------------------ reading
    def load_all(self) -> None:
        self.journal.read()
        jobs = {}
        for job_id in list_job_ids(self.location):
            job = read_job(self.location, job_id)
            if job is not None:
                jobs[job_id] = self.journal.apply(job)
        with self._lock:
            self._jobs = jobs
            self.version += 1
        self.loaded.set()
        self._notify()

    def refresh(self, ids: Iterable[int], journal_paths: Iterable[Path] = ()) -> None:
        """Re-read the given jobs (and any journals that changed) and tell the listeners."""
        ids = set(ids)
        journal_paths = list(journal_paths)
        if journal_paths:
            ids |= self.journal.read(journal_paths)
        if not ids:
            return
        fresh = {job_id: read_job(self.location, job_id) for job_id in ids}
        with self._lock:
            for job_id, job in fresh.items():
                if job is None:
                    self._jobs.pop(job_id, None)
                else:
                    self._jobs[job_id] = self.journal.apply(job)
            self.version += 1
        self._notify()

    def add_listener(self, callback: Callable[[int], None]) -> int:
        """``callback(version)`` after every change (on the thread that saw it); returns a token to remove it."""
        token = id(callback)
        self._listeners[token] = callback
        return token

    def remove_listener(self, token: int) -> None:
        self._listeners.pop(token, None)

    def _notify(self) -> None:
        for callback in list(self._listeners.values()):
            callback(self.version)

    # ------------------------------------------------------------------ asking
    def get(self, job_id: int) -> JobSummary | None:
        with self._lock:
            return self._jobs.get(job_id)

    def active_count(self) -> int:
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.status in ACTIVE)

    def query(self, q: Query) -> dict[str, Any]:
        """One page of jobs plus what the filters and the status summary need, as JSON-ready data."""
        with self._lock:
            jobs = list(self._jobs.values())
            version = self.version
        backends = sorted({j.backend for j in jobs if j.backend})
        applications = sorted({j.application for j in jobs if j.application})
        name = q.name.lower()
        selected = [
            j
            for j in jobs
            if (not q.status or j.status in q.status)
            and (not q.backend or j.backend == q.backend)
            and (not q.application or j.application == q.application)
            and (not name or name in j.name.lower() or name in j.comment.lower())
            and (q.since is None or (j.created or 0.0) >= q.since)
        ]
        counts: dict[str, int] = {}
        for j in selected:
            counts[j.status] = counts.get(j.status, 0) + 1
        selected.sort(key=SORT_KEYS.get(q.sort, SORT_KEYS["id"]), reverse=q.descending)
        pages = max(1, -(-len(selected) // q.page_size))
        page = min(max(1, q.page), pages)
        rows = selected[(page - 1) * q.page_size : page * q.page_size]
        return {
            "version": version,
            "total": len(jobs),
            "matching": len(selected),
            "page": page,
            "pages": pages,
            "page_size": q.page_size,
            "status_counts": sorted(counts.items(), key=lambda c: (STATUS_ORDER + (c[0],)).index(c[0])),
            "backends": backends,
            "applications": applications,
            "jobs": [j.to_json() for j in rows],
        }
