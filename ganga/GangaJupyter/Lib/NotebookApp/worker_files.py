"""The files a NotebookApp job exchanges with the worker runner, and reading what it left behind."""
from __future__ import annotations

import functools
import json
import os
from typing import Any

from ..Worker import notebook_runner

NOTEBOOK = "gangajupyter_notebook.ipynb"
RUNNER = "gangajupyter_runner.py"
SPEC = "gangajupyter_job.json"
INPUTS = "gangajupyter_inputs.pkl"
OUTPUTBOX = [notebook_runner.EXECUTED, notebook_runner.REPORT, notebook_runner.OUTPUTS]

#: Larger worker files are not parsed in the session (the worker wrote them; a live view re-reads them).
MAX_REPORT_BYTES = 4 << 20
MAX_EXECUTED_BYTES = 64 << 20


class WorkerFileError(Exception):
    """A file the worker left that cannot be shown; the message names the file and what to do."""


def read_report(job: Any) -> dict[str, Any] | None:
    """The runner's report (cells, timing, error) from the job's output directory, when it is there."""
    return read_report_file(os.path.join(job.outputdir, notebook_runner.REPORT))


def read_report_file(path: str) -> dict[str, Any] | None:
    """A report as the runner writes it, or None for a missing, oversized or malformed one (the job's stderr
    and status still say what happened)."""
    try:
        if os.path.getsize(path) > MAX_REPORT_BYTES:
            return None
        with open(path, encoding="utf-8", errors="replace") as handle:
            report = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict) or not isinstance(report.get("error") or {}, dict):
        return None
    return report


def latest_progress(stdout_text: str) -> dict[str, Any] | None:
    """The last ``##gangajupyter`` event in a job's stdout (what a peek at a running job shows)."""
    for line in reversed(stdout_text.splitlines()):
        if line.startswith(notebook_runner.MARKER):
            try:
                return json.loads(line[len(notebook_runner.MARKER) :])
            except ValueError:
                return None
    return None


def describe_failure(report: dict[str, Any]) -> str:
    """One line saying where and why the notebook failed."""
    error = report.get("error") or {}
    if error.get("kind") == "cell":
        where = f"cell {error['cell']} of {error.get('of', '?')}" if error.get("cell") else f"GangaJupyter's {error.get('role')} step"
        return f"It failed in {where}: {error.get('ename')}: {error.get('evalue')}"
    return str(error.get("message", "")).strip()


def executed_cells(job: Any) -> list[dict[str, Any]] | None:
    """The user's cells of the executed notebook (GangaJupyter's injected cells left out), or None when there is
    none yet. Raises WorkerFileError for one that is too big or cannot be parsed."""
    path = os.path.join(job.outputdir, notebook_runner.EXECUTED)
    if not os.path.isfile(path):
        return None
    return read_executed(path)


def read_executed(path: str) -> list[dict[str, Any]]:
    """:func:`executed_cells` of the notebook at ``path``, parsed once per version (mtime, size) of the file:
    a live view asks again on every refresh."""
    info = os.stat(path)
    if info.st_size > MAX_EXECUTED_BYTES:
        raise WorkerFileError(
            f"executed.ipynb is too big to show here ({info.st_size >> 20} MB, more than "
            f"{MAX_EXECUTED_BYTES >> 20} MB): open {path} in JupyterLab"
        )
    return _parse_executed(path, info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=16)
def _parse_executed(path: str, mtime_ns: int, size: int) -> list[dict[str, Any]]:
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
        cells = []
        for cell in nb.cells:
            if cell.get("cell_type") != "code" or notebook_runner.INJECTED_TAG in (cell.get("metadata", {}).get("tags") or []):
                continue
            outputs = [out for out in cell.get("outputs") or [] if isinstance(out, dict)]
            cells.append({"number": len(cells) + 1, "source": str(cell.get("source", "")), "outputs": outputs})
        return cells
    except Exception as err:  # anything a broken or hostile file makes nbformat raise
        raise WorkerFileError(
            f"executed.ipynb could not be read ({type(err).__name__}: {str(err)[:200]}); the worker may have "
            f"stopped while writing it. Open {path} in JupyterLab, or resubmit the job"
        ) from None


def running_progress(job: Any, stdout_path: str) -> dict[str, Any] | None:
    """"cell k of N" for a running job, from its stdout when that is readable here."""
    path = stdout_path
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(path) - 16384))
            return latest_progress(handle.read().decode("utf-8", errors="replace"))
    except OSError:
        return None
