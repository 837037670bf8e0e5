"""The files a NotebookApp job exchanges with the worker runner, and reading what it left behind."""
from __future__ import annotations

import json
import os
from typing import Any

from ..Worker import notebook_runner

NOTEBOOK = "gangajupyter_notebook.ipynb"
RUNNER = "gangajupyter_runner.py"
SPEC = "gangajupyter_job.json"
INPUTS = "gangajupyter_inputs.pkl"
OUTPUTBOX = [notebook_runner.EXECUTED, notebook_runner.REPORT, notebook_runner.OUTPUTS]


def read_report(job: Any) -> dict[str, Any] | None:
    """The runner's report (cells, timing, error) from the job's output directory, when it is there."""
    path = os.path.join(job.outputdir, notebook_runner.REPORT)
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


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
        where = f"cell {error['cell']} of {error['of']}" if error.get("cell") else f"GangaJupyter's {error.get('role')} step"
        return f"It failed in {where}: {error.get('ename')}: {error.get('evalue')}"
    return str(error.get("message", "")).strip()


def executed_cells(job: Any) -> list[dict[str, Any]] | None:
    """The user's cells of the executed notebook (GangaJupyter's injected cells left out), or None."""
    import nbformat

    path = os.path.join(job.outputdir, notebook_runner.EXECUTED)
    if not os.path.isfile(path):
        return None
    nb = nbformat.read(path, as_version=4)
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code" or notebook_runner.INJECTED_TAG in cell.metadata.get("tags", []):
            continue
        cells.append({"number": len(cells) + 1, "source": cell.source, "outputs": list(cell.get("outputs", []))})
    return cells


def running_progress(job: Any, stdout_path: str) -> dict[str, Any] | None:
    """"cell k of N" for a running job, from its stdout when that is readable here."""
    path = stdout_path
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(path) - 16384))
            return latest_progress(handle.read().decode("utf-8", errors="replace"))
    except OSError:
        return None
