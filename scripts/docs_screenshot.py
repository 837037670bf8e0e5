"""Make docs/_static/quickstart.png from an executed quickstart notebook (``tox -e demo`` writes one).

Usage: python scripts/docs_screenshot.py build/demo/quickstart.ipynb docs/_static/quickstart.png
Needs Debian's chromium (headless). Only the cells from ``jobs`` to ``split`` are shown.
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from GangaJupyter.testlib.browser import CHROMIUM, CHROMIUM_ARGS
from GangaJupyter.testlib.notebooks import export_html

CHROMIUM_FLAGS = ["--headless", "--hide-scrollbars", *CHROMIUM_ARGS]


def main(executed: str, png: str) -> None:
    nb = nbformat.read(executed, as_version=4)
    sources = [c.source.strip() for c in nb.cells]
    nb.cells = nb.cells[sources.index("jobs") - 1 : sources.index("split") + 1]
    with tempfile.TemporaryDirectory() as tmp:
        html = export_html(nb, Path(tmp) / "excerpt.html")
        subprocess.run(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--screenshot={Path(png).resolve()}", "--window-size=1000,900", html.as_uri()],
            check=True,
            capture_output=True,
        )


if __name__ == "__main__":
    main(*sys.argv[1:3])
