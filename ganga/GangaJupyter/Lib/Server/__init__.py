"""The Ganga Jobs browser: a Jupyter server extension (enabled by ``pip install``, see ``jupyter-config/``) that
shows the whole Ganga repository, live, in JupyterLab and in the Notebook 7 tree, and acts on jobs through the
Ganga session that owns the gangadir (:mod:`..Core.protocol`). What runs here is the Jupyter server's side only:
it never runs Ganga, and never imports the session's side (``Session``)."""
from __future__ import annotations

from .app import JobsBrowserApp


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    return [{"module": "GangaJupyter.Lib.Server", "app": JobsBrowserApp}]
