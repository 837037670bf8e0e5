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
ACTIVE = ("submitting", "submitted", "running", "completing")

STATUS_COLOURS = {
    "new": "#7a7a7a",
    "submitting": "#d98e04",
    "submitted": "#e0a100",
    "running": "#2e8b57",
    "completing": "#2aa198",
    "completed": "#2a6fb0",
    "failed": "#d62828",
    "killed": "#8b1e3f",
    "removed": "#9e9e9e",
    "completed_frozen": "#6f8fb0",
    "failed_frozen": "#b06f6f",
    "template": "#7a7a7a",
}
UNKNOWN_COLOUR = "#6a4c93"


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, UNKNOWN_COLOUR)


def ordered_counts(statuses: Iterable[str]) -> list[tuple[str, int]]:
    """Count statuses, in :data:`STATUS_ORDER` first and any others after, alphabetically."""
    counts = Counter(s or "unknown" for s in statuses)
    known = [(s, counts.pop(s)) for s in STATUS_ORDER if s in counts]
    return known + sorted(counts.items())
