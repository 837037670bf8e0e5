"""The worker's report (``gangajupyter_report.json``, written by ``Worker/notebook_runner.py``), parsed once.

The runner is copied to the worker alone and imports nothing of GangaJupyter, so the format is defined by what it
writes: ``state``, ``python``, ``started``, ``kernel_requested``, ``seconds``, ``cells`` (one entry per executed
cell), when it failed ``error``, and for a job of several points ``points`` (one entry per point). The file comes from the worker and is not trusted: anything of the wrong
type reads as unknown, and a report that is not one reads as none at all.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import NotebookCellError, cell_place

#: A larger report is not parsed in the session (the job's stderr and status still say what happened).
MAX_REPORT_BYTES = 4 << 20

CellErrorT = TypeVar("CellErrorT", bound=NotebookCellError)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class CellRun:
    """One executed cell, as the runner timed it."""

    cell: int | None  # the user's cell number; None for a cell GangaJupyter injected
    role: str  # that injected cell's role ("inputs", "injected-parameters", "outputs"); "" for the user's cells
    status: str  # the kernel's reply: "ok", "error", "aborted"
    seconds: float | None

    @classmethod
    def parse(cls, entry: dict[str, Any]) -> CellRun:
        return cls(_count(entry.get("cell")), _text(entry.get("role")), _text(entry.get("status")), _seconds(entry.get("seconds")))


@dataclass(frozen=True)
class WorkerFailure:
    """Why the notebook did not complete on the worker."""

    kind: str  # "cell": a cell raised or timed out; "environment": the worker cannot run notebooks; "runner": it broke
    message: str = ""  # "environment" and "runner": what happened, and for the environment the fix
    cell: int | None = None  # "cell": the user's cell number (None for one of GangaJupyter's own steps) ...
    of: int | None = None  # ... of this many user cells
    role: str = ""  # the step GangaJupyter injected that failed ("inputs", "injected-parameters", "outputs")
    source: str = ""  # the failing cell's code
    ename: str = ""
    evalue: str = ""
    traceback: str = ""  # as the kernel printed it, without ANSI colours

    @classmethod
    def parse(cls, error: dict[str, Any]) -> WorkerFailure:
        return cls(
            kind=_text(error.get("kind")),
            message=_text(error.get("message")),
            cell=_count(error.get("cell")),
            of=_count(error.get("of")),
            role=_text(error.get("role")),
            source=_text(error.get("source")),
            ename=_text(error.get("ename")),
            evalue=_text(error.get("evalue")),
            traceback=_text(error.get("traceback")),
        )

    @property
    def where(self) -> str:
        """``cell 2 of 3``, or ``GangaJupyter's outputs step``."""
        return cell_place(self.cell, self.of, self.role)


@dataclass(frozen=True)
class PointRun:
    """One point of a job that ran several (``NotebookSweep(points_per_job=k)``): how it ended."""

    state: str  # "completed" or "failed"
    seconds: float | None = None
    failure: WorkerFailure | None = None

    @classmethod
    def parse(cls, entry: dict[str, Any]) -> PointRun:
        error = entry.get("error")
        return cls(_text(entry.get("state")), _seconds(entry.get("seconds")),
                   WorkerFailure.parse(error) if isinstance(error, dict) else None)


@dataclass(frozen=True)
class WorkerReport:
    """What the runner reported about one job's run of the notebook."""

    state: str  # "starting", "running", "completed" or "failed": the last the runner wrote
    python: str = ""  # the Python that ran the runner
    started: float | None = None  # when the runner started (Unix time)
    kernel_requested: float | None = None  # seconds from the start until the kernel was asked for
    seconds: float | None = None  # seconds the whole run took
    cells: tuple[CellRun, ...] = ()
    failure: WorkerFailure | None = None
    points: tuple[PointRun, ...] = ()  # a job of several points: each one's end, in order

    @classmethod
    def read(cls, path: str) -> WorkerReport | None:
        """The report at ``path``, or None for a missing, oversized or malformed one."""
        try:
            if os.path.getsize(path) > MAX_REPORT_BYTES:
                return None
            with open(path, encoding="utf-8", errors="replace") as handle:
                data = json.load(handle)
        except (OSError, ValueError, RecursionError):  # RecursionError: deeply nested JSON
            return None
        return cls.parse(data)

    @classmethod
    def parse(cls, data: Any) -> WorkerReport | None:
        """A report from the JSON the runner wrote, or None when ``data`` is not one."""
        if not isinstance(data, dict):
            return None
        error = data.get("error")
        if error and not isinstance(error, dict):
            return None
        cells, points = data.get("cells"), data.get("points")
        return cls(
            state=_text(data.get("state")),
            python=_text(data.get("python")),
            started=_seconds(data.get("started")),
            kernel_requested=_seconds(data.get("kernel_requested")),
            seconds=_seconds(data.get("seconds")),
            cells=tuple(CellRun.parse(c) for c in cells if isinstance(c, dict)) if isinstance(cells, list) else (),
            failure=WorkerFailure.parse(error) if error else None,
            points=tuple(PointRun.parse(p) for p in points if isinstance(p, dict)) if isinstance(points, list) else (),
        )

    def describe(self) -> str:
        """One line saying where and why the notebook failed ("" when it did not)."""
        failure = self.failure
        if failure is None:
            return ""
        if failure.kind == "cell":
            return f"It failed in {failure.where}: {failure.ename}: {failure.evalue}"
        return failure.message.strip()

    def cell_error(self, job: str = "", error_class: type[CellErrorT] = NotebookCellError) -> CellErrorT | None:
        """The failing cell as an exception (of ``error_class``, for job ``job``), or None when no cell failed."""
        return cell_error(self.failure, job, error_class)


def cell_error(failure: WorkerFailure | None, job: str, error_class: type[CellErrorT]) -> CellErrorT | None:
    """``failure`` as an exception (of ``error_class``, for job ``job``), or None when it is not a cell's."""
    if failure is None or failure.kind != "cell":
        return None
    return error_class(failure.cell, failure.of, failure.ename, failure.evalue, failure.traceback, failure.role, job)
