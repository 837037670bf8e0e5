"""Text as GangaJupyter shows it. No Ganga import: the Jupyter server's Jobs browser uses this too."""
from __future__ import annotations

#: Characters of a job's name or comment shown in a row (a multi-megabyte name would bloat every page).
DISPLAY_LENGTH = 200


def shorten(text: str, limit: int = DISPLAY_LENGTH) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when anything was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
