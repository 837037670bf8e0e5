"""Small fakes of Ganga objects for the Unit tier: only what GangaJupyter's code reads of them."""
from __future__ import annotations

from pathlib import Path


class Workspace:
    """A job's output workspace: a folder."""

    def __init__(self, path: Path):
        self.path = path

    def getPath(self) -> str:
        return str(self.path) + "/"  # Ganga's workspaces end in a slash
