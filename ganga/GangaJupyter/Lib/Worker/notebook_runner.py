"""GangaJupyter's worker-side notebook runner. Shipped to the worker as ``gangajupyter_runner.py``.

Usage on the worker: ``python gangajupyter_runner.py gangajupyter_job.json``

Executes the job's notebook with nbclient and leaves in the working directory:

* ``executed.ipynb``: the executed notebook (also when a cell failed, up to that cell);
* ``gangajupyter_report.json``: per-cell status and timing, and on failure the failing cell's number, source
  and traceback;
* ``gangajupyter_outputs.pkl``: the requested output variables, when the job asked for some.

A job given several ``points`` (parameter sets: ``NotebookSweep(points_per_job=k)``) runs the notebook once per
point in one kernel, each in a fresh namespace (``%reset -f``: the modules stay imported, which is what saves the
time), and goes on after a point fails. Its outputs file is then a pickled list with, per point, the pickled
outputs as bytes (None for a point that failed: nothing is unpickled here); its report has ``points``, one entry
per point, and the cells and error of the first point that failed (else the last); ``executed.ipynb`` is that
point's notebook.

While it runs it prints one line per cell event to stdout, ``##gangajupyter {json}``, so a peek at stdout shows
"cell k of N" on any backend. It depends only on the standard library, nbformat and nbclient, and never on
Ganga: the worker may have neither Ganga nor GangaJupyter installed.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from typing import Any

MARKER = "##gangajupyter "
EXECUTED = "executed.ipynb"
REPORT = "gangajupyter_report.json"
OUTPUTS = "gangajupyter_outputs.pkl"
INJECTED_TAG = "gangajupyter-injected"
EXIT_CELL_ERROR, EXIT_ENVIRONMENT = 1, 3
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def emit(event: dict[str, Any]) -> None:
    print(MARKER + json.dumps(event), flush=True)


def write_json(path: str, data: Any) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(data, handle, indent=1, default=str)
    os.replace(tmp, path)


def fail_environment(report: dict[str, Any], message: str) -> int:
    """The worker cannot run notebooks: say what is missing and how to fix it."""
    report.update(state="failed", error={"kind": "environment", "message": message})
    write_json(REPORT, report)
    emit({"state": "failed", "error": message})
    print(f"GangaJupyter worker: {message}", file=sys.stderr)
    return EXIT_ENVIRONMENT


def kernel_sockets_folder() -> str:
    """A new folder of this job's own for its kernel's sockets. The kernel talks over Unix sockets (IPC), not TCP:
    kernels of jobs started together on one node raced for the same free TCP port ("Address already in use"),
    and TCP carried the cells in plain text. A Unix socket's path has at most ~100 bytes and needs a local
    filesystem (not AFS or EOS): the folder is made in the node's temporary directory, or /tmp."""
    for parent in (None, "/tmp"):
        folder = tempfile.mkdtemp(prefix="gj-kernel-", dir=parent)
        if len(folder) <= 80:
            return folder
        os.rmdir(folder)
    raise OSError(f"no temporary folder with a path short enough for the kernel's sockets ({folder!r})")


def injected_cell(nbformat: Any, source: str, role: str) -> Any:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [INJECTED_TAG, role]
    return cell


def build(nb: Any, spec: dict[str, Any], nbformat: Any, parameters: dict[str, Any] | None = None,
          outputs_file: str = OUTPUTS, reset: bool = False) -> Any:
    """Add the cells the job asked for: load inputs, set ``parameters`` (papermill style; the spec's by default),
    save outputs to ``outputs_file``; with ``reset``, first empty the namespace a previous point left."""
    cells = list(nb.cells)
    parameters = spec.get("parameters") if parameters is None else parameters
    if parameters:
        # values came through JSON (str, numbers, bools, None, lists, dicts): their repr is Python source
        source = "# Parameters injected by GangaJupyter\n" + "\n".join(
            f"{name} = {value!r}" for name, value in parameters.items()
        )
        at = next((i + 1 for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])), 0)
        cells.insert(at, injected_cell(nbformat, source, "injected-parameters"))
    if spec.get("inputs_file"):
        source = (
            "import pickle as _gj_pickle\n"
            f"with open({spec['inputs_file']!r}, 'rb') as _gj_f:\n"
            "    globals().update(_gj_pickle.load(_gj_f))\n"
            "del _gj_pickle, _gj_f"
        )
        cells.insert(0, injected_cell(nbformat, source, "inputs"))
    if spec.get("outputs"):
        names = list(spec["outputs"])
        source = (
            "import pickle as _gj_pickle\n"
            f"_gj_missing = [n for n in {names!r} if n not in globals()]\n"
            "if _gj_missing:\n"
            "    raise NameError('output variable(s) never defined by the cells: ' + ', '.join(_gj_missing))\n"
            f"with open({outputs_file!r}, 'wb') as _gj_f:\n"
            f"    _gj_pickle.dump({{n: globals()[n] for n in {names!r}}}, _gj_f)\n"
            "del _gj_pickle, _gj_f, _gj_missing"
        )
        cells.append(injected_cell(nbformat, source, "outputs"))
    if reset:
        cells.insert(0, injected_cell(nbformat, "get_ipython().run_line_magic('reset', '-f')", "reset"))
    nb.cells = cells
    return nb


def role_of(cell: Any) -> str | None:
    """What an injected cell does (``inputs``, ``injected-parameters``, ``outputs``); None for the user's cells."""
    tags = cell.get("metadata", {}).get("tags", [])
    return tags[1] if INJECTED_TAG in tags and len(tags) > 1 else None


def error_of(cell: Any) -> dict[str, Any]:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return {
                "ename": out.get("ename", ""),
                "evalue": out.get("evalue", ""),
                "traceback": _ANSI.sub("", "\n".join(out.get("traceback", []))),
            }
    return {"ename": "", "evalue": "", "traceback": ""}


def main(argv: list[str]) -> int:
    started = time.time()
    with open(argv[1]) as handle:
        spec = json.load(handle)
    for name, value in spec.get("environment", {}).items():
        os.environ.setdefault(name, value)  # fills gaps only: what the backend set wins
    report: dict[str, Any] = {"state": "starting", "python": sys.executable, "cells": [], "started": started}

    # jsonschema (imported by nbformat) loads rfc3987_syntax when it is installed, which builds a Lark grammar
    # at import: about 0.85 s of every job's start, for IRI format checks this runner never makes. This process
    # is the runner's own; the user's kernel is another process and is not affected.
    sys.modules.setdefault("rfc3987_syntax", None)
    try:
        import nbformat
        from nbclient import NotebookClient
        from traitlets.config import Config
    except ImportError as err:
        return fail_environment(
            report,
            f"{err.name or err} is not installed for {sys.executable}. Install nbclient and ipykernel on the "
            "worker (pip install nbclient ipykernel), or choose another Python with NotebookApp(python=...) or "
            "[Jupyter] worker_python.",
        )
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    kernel = spec["kernel"]
    try:
        KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel:
        known = ", ".join(sorted(KernelSpecManager().find_kernel_specs())) or "none"
        return fail_environment(
            report,
            f"there is no Jupyter kernel {kernel!r} on this worker (kernels here: {known}). Install it, or set "
            "NotebookApp(kernel=...) to one of these.",
        )

    source = nbformat.read(spec["notebook"], as_version=4)
    points = spec.get("points") or []
    report["state"] = "running"
    report["kernel_requested"] = round(time.time() - started, 3)
    code = 0
    sockets = ""
    executed = source
    try:
        sockets = kernel_sockets_folder()
        ipc = Config(
            KernelManager={
                "transport": "ipc",
                "ip": os.path.join(sockets, "kernel"),
                "connection_file": os.path.join(sockets, "kernel.json"),
            }
        )
        client = NotebookClient(
            source,
            config=ipc,
            kernel_name=kernel,
            timeout=spec.get("timeout"),
            record_timing=True,
            shutdown_kernel="immediate",  # the job is over: no need to wait for a graceful kernel exit
            resources={"metadata": {"path": os.getcwd()}},
        )
        if points:
            executed, error = run_points(client, source, spec, points, nbformat, report)
        else:
            executed = build(source, spec, nbformat)
            with client.setup_kernel():
                error = execute(client, executed, spec, report["cells"], {})
        if error is None:
            report["state"] = "completed"
        else:
            report.update(state="failed", error=error)
            code = EXIT_CELL_ERROR
    except Exception:
        report.update(state="failed", error={"kind": "runner", "message": traceback.format_exc()})
        traceback.print_exc()
        code = EXIT_CELL_ERROR
    finally:
        if sockets:
            shutil.rmtree(sockets, ignore_errors=True)
        nbformat.write(executed, EXECUTED)
        report["seconds"] = round(time.time() - started, 3)
        write_json(REPORT, report)
        emit({"state": report["state"], "of": len(user_cells(executed))})
    return code


def user_cells(nb: Any) -> list[int]:
    """The indices of the user's code cells (not GangaJupyter's injected ones)."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and INJECTED_TAG not in c.metadata.get("tags", [])]


def execute(client: Any, nb: Any, spec: dict[str, Any], cells: list[dict[str, Any]], extra: dict[str, Any]) -> dict[str, Any] | None:
    """Run ``nb`` in the client's kernel, appending each cell's report entry to ``cells`` and telling each step on
    stdout (with ``extra``: the point); the failure when a cell raised or timed out, None when all ran."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    number = {index: k + 1 for k, index in enumerate(user_cells(nb))}
    total = len(number)
    current: dict[str, Any] = {}

    def on_cell_start(cell: Any, cell_index: int) -> None:
        current.update(index=cell_index, t0=time.time())
        if cell_index in number:
            emit({"state": "running", "cell": number[cell_index], "of": total, **extra})

    def on_cell_executed(cell: Any, cell_index: int, execute_reply: Any) -> None:
        entry = {
            "cell": number.get(cell_index),
            "role": role_of(cell),
            "status": execute_reply["content"]["status"],
            "seconds": round(time.time() - current.get("t0", time.time()), 3),
        }
        cells.append(entry)
        if entry["cell"]:
            emit({"state": "done" if entry["status"] == "ok" else "error", "cell": entry["cell"], "of": total, **extra})

    client.nb = nb
    client.on_cell_start = on_cell_start
    client.on_cell_executed = on_cell_executed
    emit({"state": "running", "cell": 0, "of": total, **extra})
    try:
        client.execute(cleanup_kc=False)  # the kernel is the enclosing setup_kernel()'s
        return None
    except (CellExecutionError, CellTimeoutError) as err:
        index = current.get("index", -1)
        cell = nb.cells[index] if 0 <= index < len(nb.cells) else {"source": ""}
        error = error_of(cell) if isinstance(err, CellExecutionError) else {
            "ename": "CellTimeoutError",
            "evalue": f"the cell did not finish within {spec.get('timeout')} s",
            "traceback": str(err),
        }
        role = role_of(cell)
        where = f"cell {number[index]} of {total}" if index in number else f"GangaJupyter's {role} step"
        point = f" (point {extra['point']} of {extra['points']})" if extra else ""
        print(f"GangaJupyter worker: {where}{point} failed: {error['ename']}: {error['evalue']}", file=sys.stderr)
        print(error["traceback"], file=sys.stderr)
        return {"kind": "cell", "cell": number.get(index), "of": total, "role": role, "source": cell["source"], **error, **extra}


def run_points(client: Any, source: Any, spec: dict[str, Any], points: list[dict[str, Any]], nbformat: Any,
               report: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """Each point in turn in one kernel, a failed one not stopping the next; writes the outputs of all (see the
    module's docstring). Returns the notebook to keep (the first failed point's, else the last) and its failure."""
    import copy
    import pickle

    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbclient.util import run_sync

    report["points"] = []
    outputs: list[bytes | None] = []
    kept: tuple[Any, list[dict[str, Any]], dict[str, Any] | None] | None = None
    with client.setup_kernel():
        for i, parameters in enumerate(points):
            extra = {"point": i + 1, "points": len(points)}
            name = f"gangajupyter_outputs-{i}.pkl"
            nb = build(copy.deepcopy(source), spec, nbformat, parameters, name, reset=i > 0)
            t0, cells = time.time(), []
            try:
                error = execute(client, nb, spec, cells, extra)
            except DeadKernelError as err:
                error = {"kind": "runner", "message": f"the kernel died running point {i + 1}: {err}", **extra}
            if error is not None and (error.get("kind") == "runner" or error.get("ename") == CellTimeoutError.__name__):
                run_sync(client.km.restart_kernel)(now=True)  # a fresh kernel for the next point, and a client:
                client.kc.stop_channels()  # this one's sockets still wait on the old kernel
                client.kc = None  # the next execute() makes one and waits until the kernel answers
            entry: dict[str, Any] = {"parameters": parameters, "state": "failed" if error else "completed",
                                     "seconds": round(time.time() - t0, 3)}
            if error:
                entry["error"] = error
            report["points"].append(entry)
            outputs.append(_read_bytes(name) if error is None and spec.get("outputs") else None)
            if kept is None or kept[2] is None:
                kept = (nb, cells, error)
    assert kept is not None
    if spec.get("outputs"):
        with open(OUTPUTS, "wb") as handle:
            pickle.dump(outputs, handle)
    nb, report["cells"], error = kept
    return nb, error


def _read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


if __name__ == "__main__":
    sys.exit(main(sys.argv))
