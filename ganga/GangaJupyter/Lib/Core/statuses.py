"""Ganga's job statuses as GangaJupyter shows them: their order, their colours, which are active. No Ganga
import here: the Jupyter server's Jobs browser uses these too, and never runs Ganga in its own process."""
from __future__ import annotations

from collections import Counter
from typing import Iterable

#: Order of the segments in progress bars and of the status counts.
STATUS_ORDER = (
    "completed",
    "running",
    "completing",
    "submitted",
    "submitting",
    "new",
    "failed",
    "killed",
    "removed",
    "unknown",
)
#: A job in one of these may still change by itself (Ganga or its backend will move it on).
ACTIVE = ("submitting", "submitted", "running", "completing")
#: The statuses in which a backend's monitoring updates a job (Ganga's poll, GangaJupyter's fast detection).
AT_BACKEND = ("submitted", "running")
#: Nothing changes by itself any more: a live view of a job in one of these settles.
FINAL = ("completed", "failed", "killed", "removed")
#: A run that ended (a removed job did not end: it is gone).
FINISHED = ("completed", "failed", "killed")
#: The statuses in the order a job reaches them (the Jobs browser's status filter).
LIFECYCLE = ("new", "submitting", "submitted", "running", "completing", "completed", "failed", "killed")

#: Badges put white text on these, so each has a contrast ratio of at least 4.5 with white (WCAG AA), on any theme.
STATUS_COLOURS = {
    "new": "#6e6e6e",
    "submitting": "#b35900",
    "submitted": "#8a6a00",
    "running": "#2a7d4f",
    "completing": "#1b7a73",
    "completed": "#2a6fb0",
    "failed": "#d62828",
    "killed": "#8b1e3f",
    "removed": "#5f6b73",
    "completed_frozen": "#567399",
    "failed_frozen": "#a05656",
    "template": "#6e6e6e",
}
UNKNOWN_COLOUR = "#6a4c93"


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, UNKNOWN_COLOUR)


def ordered_counts(statuses: Iterable[str]) -> list[tuple[str, int]]:
    """Count statuses, in :data:`STATUS_ORDER` first and any others after, alphabetically."""
    counts = Counter(s or "unknown" for s in statuses)
    known = [(s, counts.pop(s)) for s in STATUS_ORDER if s in counts]
    return known + sorted(counts.items())
