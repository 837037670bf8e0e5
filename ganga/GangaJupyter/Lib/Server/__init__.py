"""The Ganga Jobs browser: a Jupyter server extension (enabled by ``pip install``, see ``jupyter-config/``) that
shows the whole Ganga repository, live, in JupyterLab and in the Notebook 7 tree, and acts on jobs through the
Ganga session that owns the gangadir. Importing this module does not start Ganga."""
from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "GangaJupyter.Lib.Server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from .app import setup

    setup(serverapp)

