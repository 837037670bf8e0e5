"""Writing a file so that readers in other processes see the old file or the whole new one, never half of it."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path | str, text: str) -> None:
    """Write ``path`` atomically: a fresh temporary file (0600, never an existing name or a symbolic link) in the
    same folder, renamed over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)  # replaces a symbolic link at ``path`` itself, never its target
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
