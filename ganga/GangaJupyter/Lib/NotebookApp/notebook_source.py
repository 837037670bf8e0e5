"""Building the notebook a NotebookApp job runs, and checking it before submission."""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Iterable

from .errors import NotebookAppError

if TYPE_CHECKING:
    import nbformat

# nbformat is imported when a notebook is built, not when Ganga loads GangaJupyter: its jsonschema import (with
# rfc3987_syntax's grammar) was over a second of every Ganga start-up.


def from_cells(cells: Iterable[str]) -> nbformat.NotebookNode:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    return nb


def from_file(path: str, tags: list[str]) -> nbformat.NotebookNode:
    """Read a notebook; with ``tags``, keep only code cells carrying one of them (and the ``parameters`` cell)."""
    full = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(full):
        raise NotebookAppError(f"NotebookApp: the notebook {path!r} does not exist (looked for {full}). Fix the path.")
    import nbformat

    try:
        nb = nbformat.read(full, as_version=4)
    except Exception as err:
        raise NotebookAppError(f"NotebookApp: {path!r} is not a readable notebook: {err}") from err
    if tags:
        wanted = set(tags) | {"parameters"}
        nb.cells = [c for c in nb.cells if c.cell_type == "code" and wanted & set(c.metadata.get("tags", []))]
        if not nb.cells:
            raise NotebookAppError(
                f"NotebookApp: no code cell of {path!r} has any of the tags {tags}. Tag the cells to run, or clear tags."
            )
    return nb


def check_syntax(nb: nbformat.NotebookNode) -> None:
    """Compile every code cell (after IPython's own transformations, so magics are fine)."""
    from IPython.core.inputtransformer2 import TransformerManager

    transformer = TransformerManager()
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):
        try:
            compile(transformer.transform_cell(cell.source), f"<cell {number}>", "exec")
        except SyntaxError as err:
            line = (err.text or "").rstrip("\n")
            raise NotebookAppError(
                f"NotebookApp: cell {number}, line {err.lineno}: {err.msg}" + (f"\n    {line}" if line else "")
            ) from None


def check_parameters(parameters: Any) -> dict[str, Any]:
    """Parameters become Python assignments on the worker: identifiers, with JSON-serialisable values."""
    if not isinstance(parameters, dict):
        raise NotebookAppError(f"NotebookApp: parameters must be a dict of name -> value, not {type(parameters).__name__}")
    for name in parameters:
        if not isinstance(name, str) or not name.isidentifier():
            raise NotebookAppError(f"NotebookApp: parameter name {name!r} is not a Python identifier")
    try:
        return json.loads(json.dumps(parameters))
    except (TypeError, ValueError) as err:
        raise NotebookAppError(
            f"NotebookApp: parameters must be JSON-serialisable (numbers, strings, bools, None, lists, dicts): {err}"
        ) from None


def check_local_kernel(kernel: str) -> None:
    """For backends that run here (Local, Interactive), an unknown kernel is known before submission."""
    from jupyter_client.kernelspec import KernelSpecManager

    known = KernelSpecManager().find_kernel_specs()
    if kernel not in known:
        raise NotebookAppError(
            f"NotebookApp: there is no Jupyter kernel {kernel!r} on this machine (kernels: {', '.join(sorted(known))}). "
            "Set NotebookApp(kernel=...) to one of these."
        )
