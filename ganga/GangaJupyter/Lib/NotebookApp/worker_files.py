"""The files a NotebookApp job exchanges with the worker runner, and reading what it left behind."""
from __future__ import annotations

import functools
import json
import os
from typing import Any

from ..Core.errors import WorkerFileError
from ..Core.worker_report import WorkerReport
from ..Worker import notebook_runner

NOTEBOOK = "gangajupyter_notebook.ipynb"
RUNNER = "gangajupyter_runner.py"
SPEC = "gangajupyter_job.json"
INPUTS = "gangajupyter_inputs.pkl"
OUTPUTBOX = [notebook_runner.EXECUTED, notebook_runner.REPORT, notebook_runner.OUTPUTS]

#: A larger executed notebook is not parsed in the session (the worker wrote it; a live view re-reads it).
MAX_EXECUTED_BYTES = 64 << 20


def read_report(job: Any) -> WorkerReport | None:
    """The runner's report from the job's output directory, when it is there and is one."""
    return WorkerReport.read(os.path.join(job.outputdir, notebook_runner.REPORT))


def latest_progress(stdout_text: str) -> dict[str, Any] | None:
    """The last ``##gangajupyter`` event in a job's stdout (what a peek at a running job shows)."""
    for line in reversed(stdout_text.splitlines()):
        if line.startswith(notebook_runner.MARKER):
            try:
                event = json.loads(line[len(notebook_runner.MARKER) :])
            except (ValueError, RecursionError):
                return None
            return event if isinstance(event, dict) else None
    return None


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
