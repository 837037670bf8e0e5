"""The outputs of a sweep: the points that completed, and which did not and why, without raising for them."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Iterable

from GangaCore.Utility.logging import getLogger

from .errors import NotebookAppCellError, NotebookAppFileError, NotebookAppNotFinishedError

logger = getLogger()

#: What one point without outputs raises: the others' outputs are still there. Anything else (a job that asked
#: for no outputs, say) is the whole sweep's problem, and raised.
POINT_ERRORS = (NotebookAppCellError, NotebookAppNotFinishedError, NotebookAppFileError)
SHOWN = 5  # points without outputs named in the warning; ``missing`` has them all


class SweepResults(Sequence):
    """The outputs (dicts) of the sweep's points that completed, in subjob order. ``points[k]`` is the subjob id
    and parameters of entry ``k``; ``missing`` maps each point without outputs (its subjob id) to why.

    A sequence, not a list: Ganga's interface rebuilds a returned list, and these attributes would be lost."""

    def __init__(self, outputs: list[Any], points: list[tuple[int, dict[str, Any]]], missing: dict[int, str]):
        self._outputs = outputs
        self.points = points
        self.missing = missing

    def __getitem__(self, index: Any) -> Any:
        return self._outputs[index]

    def __len__(self) -> int:
        return len(self._outputs)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) and not isinstance(other, str) else NotImplemented

    def __repr__(self) -> str:
        return repr(self._outputs)


def collect(subjobs: Iterable[Any], strict: bool) -> SweepResults:
    """Each subjob's ``results()``; with ``strict`` the first point without outputs raises, as a job does."""
    outputs, points, missing = [], [], {}
    for subjob in subjobs:
        try:
            result = subjob.application.results()
        except POINT_ERRORS as err:
            if strict:
                raise
            missing[subjob.id] = str(err)
            continue
        outputs.append(result)
        points.append((subjob.id, dict(subjob.application.parameters)))
    if missing:
        logger.warning(_summary(len(outputs) + len(missing), missing))
    return SweepResults(outputs, points, missing)


def _summary(total: int, missing: dict[int, str]) -> str:
    named = "; ".join(list(missing.values())[:SHOWN])  # each message names its subjob
    more = f"; and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
    return (
        f"{len(missing)} of {total} points have no outputs, and results() has the other {total - len(missing)} "
        f"(its .points says which each is, .missing why each other is not there): {named}{more}. "
        "j.resubmit() runs the failed points again; results(strict=True) raises for the first instead."
    )
