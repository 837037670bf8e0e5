"""Plain records read from Ganga objects, for the renderers.

Rows of a registry slice come from Ganga's index (``_index_cache``) unless the object is already in memory, so
rendering a page of a 10,000-job repository loads nothing from disk. Ganga's own ``Registry.has_loaded`` scans
every object per call (quadratic over a table), so :class:`LoadedSet` reads the repository's loaded set once.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from GangaCore.Core.GangaRepository.Registry import Registry
from GangaCore.GPIDev.Base.Objects import GangaObject
from GangaCore.GPIDev.Base.Proxy import stripProxy
from GangaCore.Utility.Plugin import allPlugins

from ..Backends import adapter_for
from ..Core.errors import WorkerFileError
from ..Core.job_files import tail_any
from ..Core.job_messages import Message, job_messages
from ..Core.scheduler_record import SchedulerRecord
from ..Core.actions import RESUBMITTABLE
from ..Core.statuses import FINISHED, ordered_counts
from ..Core.text import format_duration, shorten, strip_ansi
from ..Core.worker_report import WorkerFailure
from ..Core.pictures import Run
from .runs import runs_of
from .previews import PreviewSection, job_previews

_plugin_names: dict[str, str] = {}


def plugin_name(class_name: str) -> str:
    """The GPI name (``Local``) of a plugin whose index entry holds its class name (``Localhost``)."""
    if not _plugin_names:
        for category in ("applications", "backends"):
            for name, cls in allPlugins.allClasses(category).items():
                _plugin_names[cls.__name__] = getattr(cls, "_name", name)
    return _plugin_names.get(class_name, class_name)


class LoadedSet:
    """Which objects of a job container are fully loaded, answered without loading or scanning per object."""

    def __init__(self, objects: Any):
        self._objects = objects
        self._subjob_index = getattr(objects, "_subjobIndexData", None) if hasattr(objects, "isLoaded") else None
        self._repositories: dict[int, set[int] | None] = {}

    def entry(self, key: Any) -> tuple[GangaObject | None, Mapping[str, Any]]:
        """``(object, {})`` when it is in memory, or ``(None, index entry)`` when only its index is."""
        objects = self._objects
        if self._subjob_index is not None:
            if not objects.isLoaded(key) and key in self._subjob_index:
                return None, self._subjob_index[key]
            return objects[key], {}
        obj = objects[key]
        index = obj._index_cache_dict
        if not index or self._is_loaded(obj):
            return obj, {}  # with no index entry, the object itself is the only source (reading it may load it)
        return None, index

    def statuses(self, keys: list[Any]) -> list[str]:
        """``entry_status(*entry(key))`` of each key, without building the entries: a slice's counts read every
        job's status, 100,000 of them for a big ``jobs``. Master jobs of one registry (all of ``jobs``) take the
        short way; anything else the long one."""
        if self._subjob_index is not None or not keys:
            return [entry_status(*self.entry(key)) for key in keys]
        objects = self._objects
        plain = isinstance(objects, Registry) and not objects._incomplete_objects  # else Ganga's __getitem__
        get = objects._objects.__getitem__ if plain else objects.__getitem__
        statuses = []
        registry = loaded = None
        for key in keys:
            obj = get(key)
            if not isinstance(obj, GangaObject) or obj._parent is not None or obj._registry is None:
                statuses.append(entry_status(*self.entry(key)))
                continue
            if obj._registry is not registry:
                registry, loaded = obj._registry, self._loaded_ids(obj._registry)
                if loaded is None:
                    return [entry_status(*self.entry(key)) for key in keys]
            index = obj._index_cache_dict
            from_index = index and id(obj) not in loaded
            statuses.append(((index if from_index else obj._data_dict).get("status")) or "unknown")
        return statuses

    def _is_loaded(self, obj: GangaObject) -> bool:
        registry = obj._getRegistry()
        if registry is None or obj._getParent() is not None:
            return True  # registries lazy-load master jobs only: a subjob reached through its master is in memory
        loaded = self._loaded_ids(registry)
        if loaded is None:
            return registry.has_loaded(obj)
        return id(obj) in loaded

    def _loaded_ids(self, registry: Any) -> set[int] | None:
        key = id(registry)
        if key not in self._repositories:
            fully_loaded = getattr(getattr(registry, "repository", None), "_fully_loaded", None)
            self._repositories[key] = None if fully_loaded is None else {id(o) for o in fully_loaded.values()}
        return self._repositories[key]


@dataclass(frozen=True)
class JobRow:
    """One row of a job table."""

    fqid: str
    status: str
    name: str
    comment: str
    application: str
    backend: str
    host: str
    subjob_counts: list[tuple[str, int]]
    n_subjobs: int


def _subjob_statuses(job: GangaObject) -> list[str]:
    subjobs = job._data.get("subjobs") or []
    if hasattr(subjobs, "getAllSJStatus"):
        return list(subjobs.getAllSJStatus())
    # In-memory subjobs: read their data directly. Ganga's attribute access takes the master's lock once per
    # subjob, which a live view of a 10,000-subjob job would otherwise fight for with Ganga's monitoring.
    return [sj._data.get("status") or "unknown" for sj in getattr(subjobs, "_list", subjobs)]  # GangaList holds the objects themselves


def job_row(obj: GangaObject | None, index: Mapping[str, Any]) -> JobRow:
    """A :class:`JobRow` from a loaded job, or from its index entry when ``obj`` is None."""
    if obj is not None:
        statuses = _subjob_statuses(obj)
        backend = obj._data.get("backend")
        return JobRow(
            fqid=obj.getFQID("."),
            status=obj._data.get("status") or "unknown",
            name=shorten(str(obj._data.get("name") or "")),
            comment=shorten(str(obj._data.get("comment") or "")),
            application=getattr(obj._data.get("application"), "_name", ""),
            backend=getattr(backend, "_name", ""),
            host=str(getattr(backend, "actualCE", "") or ""),
            subjob_counts=ordered_counts(statuses),
            n_subjobs=len(statuses),
        )
    statuses = index.get("subjobs:status") or []
    return JobRow(
        fqid=str(index.get("display:fqid", index.get("id", "?"))),
        status=index.get("status") or "unknown",
        name=shorten(str(index.get("name") or "")),
        comment=shorten(str(index.get("comment") or "")),
        application=plugin_name(index.get("display:application", "")),
        backend=plugin_name(index.get("display:backend", "")),
        host=str(index.get("display:backend.actualCE", "") or ""),
        subjob_counts=ordered_counts(statuses),
        n_subjobs=len(statuses),
    )


def entry_status(obj: GangaObject | None, index: Mapping[str, Any]) -> str:
    if obj is not None:
        return obj._data.get("status") or "unknown"
    return index.get("status") or "unknown"


@dataclass(frozen=True)
class SlicePage:
    """The part of a job slice shown at once, and what is needed to say how to see the rest."""

    title: str
    total: int
    status_counts: list[tuple[str, int]]
    rows: list[JobRow]
    first: int  # position (0-based) of the first row in the slice
    newest_first_page: bool  # True when the page shows the end of the slice (newest jobs)
    is_subjobs: bool


def page_of(slice_impl: Any, page_size: int) -> tuple[list[int], int, bool]:
    """A slice's ids, where the page shown of it starts (the newest jobs; the first subjobs), and whether it
    holds subjobs."""
    ids = list(slice_impl.ids())
    is_subjobs = hasattr(slice_impl.objects, "isLoaded") or slice_impl.name.endswith(".subjobs")
    return ids, 0 if is_subjobs else max(0, len(ids) - page_size), is_subjobs


def slice_page(slice_impl: Any, page_size: int) -> SlicePage:
    """Read a page of a job slice: the newest jobs, or the first subjobs, plus counts over the whole slice."""
    objects = slice_impl.objects
    ids, first, is_subjobs = page_of(slice_impl, page_size)
    loaded = LoadedSet(objects)
    counts = ordered_counts(loaded.statuses(ids))
    rows = [job_row(*loaded.entry(i)) for i in ids[first : first + page_size]]
    return SlicePage(
        title=slice_impl.name,
        total=len(ids),
        status_counts=counts,
        rows=rows,
        first=first,
        newest_first_page=not is_subjobs,
        is_subjobs=is_subjobs,
    )


@dataclass(frozen=True)
class FileRecord:
    """A Ganga file object, and where it is now."""

    kind: str
    name: str
    where: str
    local_matches: list[tuple[str, int]] = field(default_factory=list)  # (path, size) found in the job's outputdir


def _job_of(file_obj: GangaObject) -> GangaObject | None:
    parent = file_obj._getParent()
    while parent is not None and getattr(parent, "_category", None) != "jobs":
        parent = parent._getParent()
    return parent


def file_record(file_obj: GangaObject) -> FileRecord:
    data = file_obj._data
    name = str(data.get("namePattern", "") or "")
    locations = data.get("locations") or []
    where = ", ".join(str(loc) for loc in locations) or str(data.get("localDir", "") or "")
    matches: list[tuple[str, int]] = []
    job = _job_of(file_obj)
    if job is not None and name:
        outputdir = job.getOutputWorkspace(create=False).getPath()
        for path in sorted(glob.glob(os.path.join(outputdir, name)))[:20]:
            try:
                matches.append((path, os.path.getsize(path)))
            except OSError:
                continue
    return FileRecord(kind=file_obj._name, name=name, where=where, local_matches=matches)


@dataclass(frozen=True)
class SchemaRow:
    name: str
    value: str
    doc: str


def _short_value(value: Any, limit: int = 200) -> str:
    value = stripProxy(value)
    if hasattr(value, "_list"):  # GangaList
        text = repr([stripProxy(v) for v in value._list])
    elif isinstance(value, GangaObject):
        text = value._name
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def schema_rows(obj: GangaObject) -> list[SchemaRow]:
    """The visible schema attributes of a Ganga object, with their documentation."""
    rows = []
    for name, item in obj._schema.allItems():
        if item["hidden"]:
            continue
        try:
            value = getattr(obj, name)
        except Exception as err:  # a broken attribute must not hide the others
            value = f"<unreadable: {err}>"
        rows.append(SchemaRow(name=name, value=_short_value(value), doc=str(item["doc"] or "")))
    return rows


@dataclass(frozen=True)
class NotebookSection:
    """What a NotebookApp job adds to its view: progress, the failing cell, or the executed outputs."""

    progress: dict[str, Any] | None
    failure: WorkerFailure | None
    failure_job: str
    cells: list[Any]
    truncated: bool
    notice: str = ""  # why the executed notebook is not shown (too big, unreadable)


@dataclass(frozen=True)
class JobRecord:
    """Everything the job view shows about one job (or subjob)."""

    row: JobRow
    times: list[tuple[str, datetime]]
    runtime: str
    exit_code: Any
    outputdir: str
    workspace_missing: bool
    files: list[FileRecord]
    stderr_tail: str
    stderr_source: str
    failed_subjobs: list[str]
    failure_groups: list[tuple[str, list[str]]]
    application: list[SchemaRow]
    backend: list[SchemaRow]
    notebook: NotebookSection | None = None
    scheduler: SchedulerRecord = field(default_factory=SchedulerRecord)  # what the batch system says (its adapter)
    stdout_tail: str = ""  # the end of a finished job's stdout
    messages: list[Message] = field(default_factory=list)  # what Ganga said about it in this kernel, oldest first
    resubmit_hint: str = ""  # how to resubmit a finished job that failed (its view is static by then)
    previews: PreviewSection | None = None  # thumbnails and first lines of its output files
    runs: list[Run] = field(default_factory=list)  # a split job's subjobs, for the pictures (Display.runs)


MAX_GROUPED_FAILURES = 200

_TIMESTAMP_LABELS = (
    ("new", "created"),
    ("submitted", "submitted"),
    ("backend_running", "started"),
    ("final", "finished"),
)


MESSAGES_SHOWN = 50
STDOUT_TAIL_LINES = 20


def _output_file(job: GangaObject, name: str) -> str | None:
    outputdir = job.getOutputWorkspace(create=False).getPath()
    for candidate in (name, name + ".gz"):
        path = os.path.join(outputdir, candidate)
        if os.path.isfile(path):
            return path
    return None


def job_file(job: GangaObject, name: str) -> str:
    """Where a job's file (``stdout``, ``stderr``) is now: in the backend's work directory while a Local job
    runs (as Ganga's own ``peek`` reads it), else in the output directory."""
    workdir = getattr(job.backend, "workdir", "") if job.status == "running" else ""
    if workdir and os.path.isfile(os.path.join(workdir, name)):
        return os.path.join(workdir, name)
    return os.path.join(job.getOutputWorkspace(create=False).getPath(), name)


PYTHON_TRACEBACK = "Traceback (most recent call last):"
MAX_TRACEBACK_LINES = 80


def error_excerpt(text: str, lines: int) -> str:
    """The last Python traceback in ``text`` when there is one (a Python payload failed), else its last lines."""
    all_lines = text.splitlines()
    starts = [i for i, line in enumerate(all_lines) if line.startswith(PYTHON_TRACEBACK)]
    if starts:
        return "\n".join(all_lines[starts[-1] :][:MAX_TRACEBACK_LINES])
    return "\n".join(all_lines[-lines:])


def _read_stderr(job: GangaObject, lines: int) -> tuple[str, str]:
    path = _output_file(job, "stderr")
    if path is None:
        return "", ""
    return error_excerpt(tail_any(path, 2000), lines), path


def error_summary(job: GangaObject) -> str:
    """One line saying why a job failed, to group failed subjobs by."""
    if getattr(job.application, "_name", "") == "NotebookApp":
        from ..NotebookApp import worker_files

        report = worker_files.read_report(job)
        if report and report.failure:
            return report.describe()
    reason = adapter_for(job).scheduler_record(job).reason
    if reason:
        return reason
    text, _ = _read_stderr(job, 5)
    last = [line.strip() for line in text.splitlines() if line.strip()]
    return last[-1] if last else f"exit code {getattr(job.backend, 'exitcode', None)}"


def job_record(job: GangaObject, stderr_lines: int) -> JobRecord:
    """Read a job (loading it from the repository first) into a :class:`JobRecord`."""
    job._loadObject()  # a job not loaded yet has only its index in memory: ``_data`` would be empty
    row = job_row(job, {})
    stamps = job.time.timestamps
    times = [(label, stamps[key]) for key, label in _TIMESTAMP_LABELS if key in stamps]
    start, end = stamps.get("backend_running") or stamps.get("running"), stamps.get("backend_final") or stamps.get(
        "final"
    )
    runtime = format_duration((end - start).total_seconds()) if start and end and end >= start else ""
    outputdir = job.getOutputWorkspace(create=False).getPath()
    workspace_missing = row.status not in ("new", "removed") and not os.path.isdir(outputdir)

    failed_subjobs: list[str] = []
    stderr_tail, stderr_source = "", ""
    failed_job = None
    subjobs = job._data.get("subjobs") or []
    if row.status in RESUBMITTABLE and not workspace_missing:
        if len(subjobs):
            statuses = _subjob_statuses(job)
            failed_subjobs = [f"{row.fqid}.{i}" for i, s in enumerate(statuses) if s in RESUBMITTABLE]
            if failed_subjobs:
                failed_job = subjobs[int(failed_subjobs[0].rsplit(".", 1)[1])]
        else:
            failed_job = job
        if failed_job is not None:
            stderr_tail, stderr_source = _read_stderr(failed_job, stderr_lines)
    failure_groups: dict[str, list[str]] = {}
    for fqid in failed_subjobs[:MAX_GROUPED_FAILURES]:
        failure_groups.setdefault(error_summary(subjobs[int(fqid.rsplit(".", 1)[1])]), []).append(fqid)

    backend = job._data.get("backend")
    application = job._data.get("application")
    is_notebook = getattr(application, "_name", "") == "NotebookApp"
    stdout_tail = ""
    if row.status in FINISHED and not len(subjobs) and not workspace_missing and not is_notebook:
        stdout_path = _output_file(job, "stdout")
        stdout_tail = tail_any(stdout_path, STDOUT_TAIL_LINES) if stdout_path else ""
    resubmit_hint = ""
    if row.status in RESUBMITTABLE and not workspace_missing:
        master, _, sub = row.fqid.partition(".")
        resubmit_hint = f"jobs({master})" + (f".subjobs({sub})" if sub else "") + ".resubmit()"
    files = [file_record(f) for f in job.outputfiles]
    previews = None
    if not workspace_missing:
        matches = [path for f in files for path, _ in f.local_matches]
        previews = job_previews(row.fqid, outputdir, matches, _subjob_statuses(job) if row.n_subjobs else [])
    return JobRecord(
        row=row,
        times=times,
        runtime=runtime,
        exit_code=getattr(backend, "exitcode", None),
        outputdir=outputdir,
        workspace_missing=workspace_missing,
        files=files,
        stderr_tail=stderr_tail,
        stderr_source=stderr_source,
        failed_subjobs=failed_subjobs,
        failure_groups=sorted(failure_groups.items(), key=lambda item: -len(item[1])),
        application=schema_rows(application) if application is not None else [],
        backend=schema_rows(backend) if backend is not None else [],
        notebook=notebook_section(job, row, failed_job) if is_notebook else None,
        scheduler=adapter_for(job).scheduler_record(job) if not len(subjobs) and row.status != "new" else SchedulerRecord(),
        stdout_tail=stdout_tail,
        messages=job_messages.for_job(row.fqid)[-MESSAGES_SHOWN:],
        resubmit_hint=resubmit_hint,
        previews=previews,
        runs=runs_of(job, {fqid: error for error, fqids in failure_groups.items() for fqid in fqids})
        if len(subjobs)
        else [],
    )


def notebook_section(job: GangaObject, row: JobRow, failed_job: GangaObject | None) -> NotebookSection | None:
    """The NotebookApp part of a job view; the worker's files are read through NotebookApp's public helpers."""
    from ..NotebookApp import worker_files

    if row.status == "running" and not row.n_subjobs:
        return NotebookSection(worker_files.running_progress(job, job_file(job, "stdout")), None, "", [], False)
    if failed_job is not None:
        report = worker_files.read_report(failed_job)
        cells, truncated, notice = _executed(failed_job)
        failure = report.failure if report else None
        if failure and failure.kind == "cell" and failure.cell:
            cells = [c for c in cells if c.number == failure.cell]  # only the failing cell's outputs
        return NotebookSection(None, failure, failed_job.getFQID("."), cells if failure else [], truncated, notice)
    if row.status == "completed" and not row.n_subjobs:
        return NotebookSection(None, None, "", *_executed(job))
    return None


def _executed(job: GangaObject) -> tuple[list[Any], bool, str]:
    """The executed notebook's cells made safe, whether they were cut, and why they are missing if they are."""
    from ..NotebookApp import worker_files
    from .notebook_outputs import convert_cells

    try:
        cells = worker_files.executed_cells(job) or []
    except WorkerFileError as err:
        return [], False, str(err)
    return (*convert_cells(cells), "")


@dataclass(frozen=True)
class TableRecord:
    """A registry slice that is not a job slice (``box``, ``tasks``): Ganga's own columns."""

    title: str
    total: int
    columns: list[str]
    rows: list[list[str]]
    first: int


def table_record(slice_impl: Any, page_size: int) -> TableRecord:
    ids = list(slice_impl.ids())
    first = max(0, len(ids) - page_size)
    columns = list(slice_impl._display_columns)
    rows = []
    for i in ids[first:]:
        obj = slice_impl.objects[i]
        rows.append([strip_ansi(slice_impl._get_display_value(obj, col)) for col in columns])
    return TableRecord(
        title=slice_impl.name,
        total=len(ids),
        columns=[strip_ansi(c) for c in columns],
        rows=rows,
        first=first,
    )
