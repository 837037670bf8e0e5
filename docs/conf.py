"""Sphinx configuration for GangaJupyter's documentation (``tox -e docs``; warnings are errors).

The example notebooks (``examples/*.ipynb``) are pages, executed by myst-nb in every build; see
``examples.rst`` for which ones and how.
"""
import os
import shutil
import sys
from pathlib import Path

from sphinx.util import logging

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_ext"))

project = "GangaJupyter"
author = "GangaJupyter developers"
copyright = "2026, GangaJupyter developers"
extensions = ["sphinx.ext.autodoc", "myst_nb", "gangajupyter_reference"]
exclude_patterns = ["_build"]
html_theme = "furo"  # light and dark modes, following the reader's system or the toggle
html_title = "GangaJupyter"
html_static_path = ["_static"]
nitpicky = False

# myst-nb: execute every example notebook, whatever outputs it was saved with; a failing cell fails the build.
nb_execution_mode = "force"
nb_execution_timeout = 300  # a cell waits for Ganga jobs
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_in_temp = True  # files a notebook writes stay out of the source folder
nb_output_stderr = "warn"  # a log line on stderr is a build warning, and -W makes it an error
# A job view carries its static HTML card next to its widget view; the page shows the card, which needs no
# widget JavaScript (myst-nb would load that from a CDN).
nb_mime_priority_overrides = [
    (builder, "application/vnd.jupyter.widget-view+json", 35) for builder in ("html", "dirhtml", "singlehtml")
]
nb_ipywidgets_js = {}

DOCS = Path(__file__).resolve().parent
EXAMPLES = DOCS.parent / "examples"
COPIES = DOCS / "examples"  # gitignored: the notebooks this build executes, copied from examples/
HOMES = DOCS / "_build" / "ganga-homes"
logger = logging.getLogger(__name__)


def _problems() -> dict[str, str]:
    """Each example notebook, with why it cannot run here ("" when it can)."""
    from GangaJupyter.testlib.needs import htcondor_pool_problem, slurm_cluster_problem

    return {
        "quickstart": "",
        "notebookapp": "",
        "pictures": "",
        "slurm": slurm_cluster_problem(),
        "htcondor": htcondor_pool_problem(),
    }


def copy_examples(app) -> None:
    """Copy the notebooks that can run here into ``docs/examples``, fresh (so they are read and executed again),
    before Sphinx looks for its sources, and list them in the toctree ``examples.rst`` includes; the others are
    left out (a toctree naming a missing page, or a glob matching none, would be a warning)."""
    shutil.rmtree(COPIES, ignore_errors=True)
    shutil.rmtree(HOMES, ignore_errors=True)
    COPIES.mkdir()
    toctree = [".. toctree::", ""]
    for name, problem in _problems().items():
        if problem:
            logger.info(f"examples/{name}.ipynb is not in these docs: {problem}")
        else:
            shutil.copyfile(EXAMPLES / f"{name}.ipynb", COPIES / f"{name}.ipynb")
            toctree.append(f"   examples/{name}")
    (COPIES / "toctree.txt").write_text("\n".join(toctree) + "\n")


def ganga_home_per_notebook(app, docname: str, source: list) -> None:
    """myst-nb starts each notebook's kernel with this process's environment: point it at a new Ganga home,
    one per notebook, as ``python -m GangaJupyter.testlib.notebooks`` does (so each notebook sees its own jobs)."""
    if docname.startswith("examples/"):
        from GangaJupyter.testlib.notebooks import ganga_home

        os.environ.update(ganga_home(HOMES / docname.split("/", 1)[1], runtime_path=False))


def setup(app) -> None:
    app.connect("builder-inited", copy_examples)
    app.connect("source-read", ganga_home_per_notebook)
