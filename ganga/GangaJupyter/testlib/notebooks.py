"""Execute notebooks in a real Jupyter kernel against a throw-away Ganga home, and export them as HTML.

Command line (used by ``tox -e demo`` and CI for the example notebooks)::

    python -m GangaJupyter.testlib.notebooks examples/quickstart.ipynb --out build/demo
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import nbformat
from nbclient import NotebookClient

GANGARC_HEADER = "# Ganga configuration file ($Name: 8.7.12 $)\n"


def ganga_home(root: Path, runtime_path: bool = True, extra: str = "") -> dict[str, str]:
    """Make ``root`` a Ganga home (``.gangarc`` and gangadir inside) and return the environment that selects it."""
    root.mkdir(parents=True, exist_ok=True)
    config = GANGARC_HEADER + "[Configuration]\n" + f"gangadir = {root / 'gangadir'}\n"
    if runtime_path:
        config += "RUNTIME_PATH = GangaJupyter\n"
    (root / ".gangarc").write_text(config + extra)
    return {**os.environ, "HOME": str(root), "GANGA_CONFIG_FILE": str(root / ".gangarc")}


def execute(
    nb: nbformat.NotebookNode, env: dict[str, str], cwd: Path, timeout: int = 300, allow_errors: bool = False
) -> nbformat.NotebookNode:
    """Execute ``nb`` in place in a fresh ``python3`` kernel started with ``env``; cell errors raise unless allowed."""
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute(env=env, cwd=str(cwd))
    return nb


def notebook(*cells: str) -> nbformat.NotebookNode:
    """A notebook of code cells."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def outputs(cell: Any, mime: str) -> Iterator[str]:
    """The ``mime`` data of a cell's outputs (display data, execute results and, for text/plain, streams)."""
    for out in cell.get("outputs", []):
        if out.output_type in ("display_data", "execute_result") and mime in out.data:
            yield out.data[mime]
        elif out.output_type == "stream" and mime == "text/plain":
            yield out.text


def export_html(nb: nbformat.NotebookNode, path: Path) -> Path:
    """Write ``nb`` as a static HTML page, as ``jupyter nbconvert --to html`` would."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("build/notebooks"), help="where executed copies go")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        home = args.out.resolve() / f"{path.stem}-home"
        shutil.rmtree(home, ignore_errors=True)  # every run starts from an empty repository
        started = time.time()
        print(f"executing {path} (Ganga home {home}) ...", flush=True)
        nb = execute(nbformat.read(path, as_version=4), ganga_home(home, runtime_path=False), cwd=path.parent.resolve())
        nbformat.write(nb, args.out / path.name)
        html = export_html(nb, args.out / f"{path.stem}.html")
        print(f"  done in {time.time() - started:.1f} s: {args.out / path.name}, {html}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
