"""Text as GangaJupyter shows it: shortened names, no ANSI colour codes, durations. No Ganga import: the Jupyter
server's Jobs browser uses this too."""
from __future__ import annotations

import re

#: Characters of a job's name or comment shown in a row (a multi-megabyte name would bloat every page).
DISPLAY_LENGTH = 200


def shorten(text: str, limit: int = DISPLAY_LENGTH) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when anything was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """Remove the ANSI colour codes Ganga puts into some display strings."""
    return _ANSI.sub("", text)


def format_duration(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
