"""A read-only view of Ganga's XML job repository for the Jupyter server, kept live without a Ganga session.

Ganga writes three things per job (``GangaRepositoryXML``): ``<N>.index`` (a pickle of the index cache: status,
name, display columns, subjob statuses) when the job is created and when its session ends, ``<N>/data`` (the job's
XML) whenever the job is flushed (at submit, kill, remove, and every ``[Registry] AutoFlusherWaitTime`` seconds),
and ``<N>/subjobs.idx`` with its subjobs. The server reads these without locks (Ganga replaces ``data`` by a rename,
so a reader sees the old or the new file, never half of one), newest source first. Ganga flushes status changes
only every 30 s, so sessions running GangaJupyter also append every status change to a journal
(``<gangadir>/jupyter/sessions/<session>.events``, see :mod:`..Core.protocol`); a change there newer than the file
it overrides wins. inotify (watchdog) tells the server which files changed.
"""
from __future__ import annotations

import ast
import io
import logging
import os
import pickle
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

from ..Backends import backend_name
from ..Core.location import GangaLocation
from ..Core.journals import JournalFollower
from ..Core.protocol import sessions_folder
from ..Core.statuses import ACTIVE, STATUS_ORDER, ordered_counts
from ..Core.text import shorten


#: A job's ``data`` XML is a few KB and its index pickles at most a few MB (10,000 subjobs); larger files are not
#: read (the other files of the job still are).
MAX_DATA_BYTES = 16 * 1024 * 1024
MAX_PICKLE_BYTES = 64 * 1024 * 1024
#: Characters of a name or comment kept in memory, for the filter and the sort (rows show fewer, see ``shorten``).
STORED_TEXT = 4096

#: The backend's fields read from a job's ``data``: where it ran, how it ended, and the accounting figures a backend
#: keeps in fields of its own (seconds, MB), for the pictures (:mod:`.runs`).
BACKEND_FIELDS = ("actualCE", "exitcode", "reason", "walltime", "cputime", "memory")

_TIMESTAMP = re.compile(r"'(\w{1,40})': datetime\.datetime\(([\d, ]{1,80})\)")
_log = logging.getLogger(__name__)


class _IndexUnpickler(pickle.Unpickler):
    """Ganga's index files hold plain Python values; refuse anything else (the server never runs file content)."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a Ganga index file")


def _load_pickle(path: Path) -> Any:
    with path.open("rb") as handle:
        raw = handle.read(MAX_PICKLE_BYTES + 1)
    if len(raw) > MAX_PICKLE_BYTES:
        raise ValueError(f"{path} is larger than {MAX_PICKLE_BYTES} bytes")
    return _IndexUnpickler(io.BytesIO(raw)).load()


def _literal(text: str | None) -> Any:
    try:
        return ast.literal_eval((text or "").strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):  # not a Python literal, or a hostile one
        return None


def _text(value: Any) -> str:
    """A name, comment or plugin name as text: numbers as written, anything else (lists, dicts) as empty."""
    if isinstance(value, str):
        return value[:STORED_TEXT]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def _statuses(value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)):
        return []
    return [s if isinstance(s, str) else "unknown" for s in value]


def job_id_of(name: str) -> int | None:
    """The job id a repository entry (``<id>`` or ``<id>.index``) names; None for anything else (``²`` too)."""
    stem = name[: -len(".index")] if name.endswith(".index") else name
    return int(stem) if stem.isascii() and stem.isdecimal() and len(stem) <= 12 else None


def _read_data(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(MAX_DATA_BYTES + 1)


def data_values(raw: bytes | None) -> dict[str, Any] | None:
    """What the browser shows from a job's ``data`` XML (written by Ganga's VStreamer), or None when ``raw`` is not
    one. A linear parse (expat) of a file of bounded size: no regex backtracking, no DTD or entities."""
    if raw is None or len(raw) > MAX_DATA_BYTES or b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:  # Ganga writes neither
        return None
    try:
        root = ET.fromstring(raw.decode("utf-8", errors="replace"))
    except ET.ParseError:
        return None
    job = root.find("class")
    if job is None:
        return None
    attributes = {a.get("name"): a for a in job.findall("attribute")}

    def value(attribute: ET.Element | None) -> Any:
        element = attribute.find("value") if attribute is not None else None
        return _literal(element.text) if element is not None else None

    def component(name: str) -> ET.Element | None:
        attribute = attributes.get(name)
        return attribute.find("class") if attribute is not None else None

    found: dict[str, Any] = {name: value(attributes.get(name)) for name in ("status", "name", "comment")}
    for name in ("application", "backend"):
        plugin = component(name)
        found[name] = plugin.get("name", "") if plugin is not None else None
    backend = component("backend")
    fields = {a.get("name"): a for a in backend.findall("attribute")} if backend is not None else {}
    found["backend_fields"] = {name: value(fields.get(name)) for name in BACKEND_FIELDS}
    time_class = component("time")
    stamps = time_class.find("attribute[@name='timestamps']/value") if time_class is not None else None
    found["timestamps"] = dict(_TIMESTAMP.findall(stamps.text or "")) if stamps is not None else {}
    return found


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
    changed: int = 0  # the index's version when this was read: the pictures of a job not read since are unchanged

    def counts(self) -> list[tuple[str, int]]:
        return ordered_counts(self.subjobs)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "name": shorten(self.name),
            "comment": shorten(self.comment),
            "application": self.application,
            "backend": self.backend,
            "host": self.host,
            "subjobs": len(self.subjobs),
            "subjob_counts": self.counts(),
            "created": self.created,
            "submitted": self.submitted,
        }


def epoch(parts: str) -> float | None:
    """The Unix time of ``datetime.datetime(<parts>)`` as Ganga writes it (local time)."""
    try:
        return datetime(*(int(p) for p in parts.split(","))).timestamp()
    except (TypeError, ValueError, OverflowError, OSError):
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
            job.status = _text(cache.get("status")) or "unknown"
            job.name = _text(cache.get("name"))
            job.comment = _text(cache.get("comment"))
            job.application = _text(cache.get("display:application"))
            job.backend = backend_name(_text(cache.get("display:backend")))  # the index has the class name
            job.host = _text(cache.get("display:backend.actualCE"))
            job.subjobs = _statuses(cache.get("subjobs:status"))
            job.status_time = job.subjobs_time = index_path.stat().st_mtime
    except (OSError, EOFError, ValueError, TypeError, AttributeError, IndexError, MemoryError, pickle.UnpicklingError):
        pass  # missing, being written, or not an index: the data file may still say more
    try:
        data_time = data_path.stat().st_mtime
        values = data_values(_read_data(data_path))
    except OSError:
        return job if found else None
    if values is None:
        return job if found else None
    if isinstance(values["status"], str):
        found = True
        if data_time >= job.status_time:
            job.status = _text(values["status"]) or "unknown"
            job.status_time = data_time
            job.name = _text(values["name"])
            job.comment = _text(values["comment"])
            job.application = _text(values["application"]) if values["application"] is not None else job.application
            job.backend = backend_name(_text(values["backend"])) if values["backend"] is not None else job.backend
            host = values["backend_fields"]["actualCE"]
            job.host = _text(host) if host is not None else job.host
    stamps = values["timestamps"]
    job.created = epoch(stamps["new"]) if "new" in stamps else None
    job.submitted = epoch(stamps["submitted"]) if "submitted" in stamps else None
    try:
        if subjobs_path.stat().st_mtime >= job.subjobs_time:
            entries = _load_pickle(subjobs_path)
            job.subjobs = [_text(entries[k].get("status")) or "unknown" for k in sorted(entries)]
            job.subjobs_time = subjobs_path.stat().st_mtime
    except (OSError, EOFError, ValueError, TypeError, AttributeError, KeyError, IndexError, MemoryError,
            pickle.UnpicklingError):
        pass
    return job if found else None


def list_job_ids(location: GangaLocation) -> list[int]:
    ids: set[int] = set()
    try:
        chunks = [c for c in os.listdir(location.jobs) if c.endswith("xxx") and job_id_of(c[:-3]) is not None]
    except OSError:
        return []
    for chunk in chunks:
        try:
            names = os.listdir(location.jobs / chunk)
        except OSError:
            continue
        ids.update(i for i in map(job_id_of, names) if i is not None)
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
    """The status changes GangaJupyter sessions append to ``<gangadir>/jupyter/sessions/*.events``: the latest of
    each job, overlaid on the repository files."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.follower = JournalFollower(folder)
        self.latest: dict[str, tuple[str, float]] = {}  # fqid -> (status, time)

    def read(self, paths: Iterable[Path] | None = None) -> set[int]:
        """Read what was appended since the last call; returns the ids of the master jobs concerned. Lines that
        are not a valid batch, and changes that are not ``fqid: [status, time]``, are skipped."""
        touched = set()
        for fqid, (status, when) in self.follower.read(paths).items():
            known = self.latest.get(fqid)
            if known is None or when >= known[1]:
                self.latest[fqid] = (status, when)
            touched.add(int(fqid.split(".", 1)[0]))
        return touched

    def forget(self, job_id: int) -> None:
        """Drop the statuses of a job that left the repository (and of its subjobs)."""
        prefix = f"{job_id}."
        for fqid in [f for f in self.latest if f == str(job_id) or f.startswith(prefix)]:
            del self.latest[fqid]

    def remove(self, path: Path) -> None:
        """Delete the journal of a session that ended without cleaning up."""
        path.unlink(missing_ok=True)
        self.follower.forget(path)

    def apply(self, job: JobSummary) -> JobSummary:
        """``job`` with the journal's newer statuses (of the job and of its subjobs) applied. A status older than
        the file it would override is dropped: files only get newer, so it would never apply again."""
        mine = self.latest.get(str(job.id))
        if mine and mine[1] > job.status_time:
            job.status = mine[0]
        elif mine:
            del self.latest[str(job.id)]
        if job.subjobs:
            prefix = f"{job.id}."
            for k in range(len(job.subjobs)):
                change = self.latest.get(prefix + str(k))
                if change and change[1] > job.subjobs_time:
                    job.subjobs[k] = change[0]
                elif change:
                    del self.latest[prefix + str(k)]
        return job


class RepositoryIndex:
    """All jobs of one repository in memory, refreshed from disk as files change; safe to query from any thread."""

    def __init__(self, location: GangaLocation):
        self.location = location
        self.journal = Journal(sessions_folder(location))
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
            removed = self._jobs.keys() - jobs.keys()
            self._jobs = jobs
            self.version += 1
            for job in jobs.values():  # re-read whole: any of them may have changed
                job.changed = self.version
        for job_id in removed:
            self.journal.forget(job_id)
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
            self.version += 1
            for job_id, job in fresh.items():
                if job is None:
                    if self._jobs.pop(job_id, None) is not None:
                        self.journal.forget(job_id)
                else:
                    job.changed = self.version
                    self._jobs[job_id] = self.journal.apply(job)
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
            try:
                callback(self.version)
            except Exception:  # e.g. the event loop of a closed page: the other listeners and the reader go on
                _log.exception("GangaJupyter Jobs browser: a listener of repository changes failed")

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
