"""The outputs of a sweep: the points that completed, and which did not and why, without raising for them."""
from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from typing import Any, Iterable, Iterator

from GangaCore.Utility.logging import getLogger

from ..Core.worker_report import cell_error
from ..Worker import notebook_runner
from . import worker_files
from .errors import NotebookAppCellError, NotebookAppFileError, NotebookAppNotFinishedError

logger = getLogger()

#: What one point without outputs raises: the others' outputs are still there. Anything else (a job that asked
#: for no outputs, say) is the whole sweep's problem, and raised.
POINT_ERRORS = (NotebookAppCellError, NotebookAppNotFinishedError, NotebookAppFileError)
SHOWN = 5  # points without outputs named in the warning; ``missing`` has them all


class SweepResults(Sequence):
    """The outputs (dicts) of the sweep's points that completed, in order. ``points[k]`` is the point number
    (its place in the sweep: the subjob id, with one point per subjob) and parameters of entry ``k``; ``missing``
    maps each point without outputs (its number) to why.

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


def collect(jobs: Iterable[Any], strict: bool) -> SweepResults:
    """Each point's outputs, a job (subjob) of one point by its ``results()``; with ``strict`` the first point
    without outputs raises, as a job does."""
    outputs, points, missing = [], [], {}
    number = 0
    for job in jobs:
        for parameters, result in _points_of(job):
            if isinstance(result, POINT_ERRORS):
                if strict:
                    raise result
                missing[number] = str(result)
            else:
                outputs.append(result)
                points.append((number, parameters))
            number += 1
    if missing:
        logger.warning(_summary(len(outputs) + len(missing), missing))
    return SweepResults(outputs, points, missing)


def _points_of(job: Any) -> Iterator[tuple[dict[str, Any], Any]]:
    """(parameters, outputs dict or the error saying why there are none) of each point ``job`` ran."""
    app = job.application
    base = dict(app.parameters)
    if not app.points:
        try:
            yield base, app.results()
        except POINT_ERRORS as err:
            yield base, err
        return
    fqid = job.getFQID(".")
    report = worker_files.read_report(job) if job.status in ("completed", "failed") else None
    ran = report.points if report is not None else ()
    stored = _stored_outputs(job) if ran else []
    for k, point in enumerate(app.points):
        parameters, label = {**base, **dict(point)}, f"{fqid} point {k + 1} of {len(app.points)} ({_shown(point)})"
        if k >= len(ran):
            why = report.describe() if report is not None else ""
            yield parameters, NotebookAppNotFinishedError(
                f"Job {label} is '{job.status}': outputs exist once it has run. {why}".strip()
            )
        elif ran[k].state != "completed":
            yield parameters, cell_error(ran[k].failure, label, NotebookAppCellError) or NotebookAppNotFinishedError(
                f"Job {label} did not complete: {ran[k].failure.message if ran[k].failure else 'no reason given'}"
            )
        elif k >= len(stored) or stored[k] is None:
            yield parameters, NotebookAppFileError(f"Job {label} completed but its outputs are not in {job.outputdir}")
        else:
            yield parameters, pickle.loads(stored[k])  # written by the job's own kernel, from the user's own cells


def _stored_outputs(job: Any) -> list[bytes | None]:
    """The pickled outputs of each point of a job of several, as its runner stored them (an empty list if none)."""
    path = os.path.join(job.outputdir, notebook_runner.OUTPUTS)
    try:
        with open(path, "rb") as handle:
            stored = pickle.load(handle)  # a list of bytes (or None): the runner unpickles nothing
    except (OSError, pickle.UnpicklingError, EOFError):
        return []
    return stored if isinstance(stored, list) else []


def _shown(point: Any) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in dict(point).items())


def _summary(total: int, missing: dict[int, str]) -> str:
    named = "; ".join(list(missing.values())[:SHOWN])  # each message names its subjob
    more = f"; and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
    return (
        f"{len(missing)} of {total} points have no outputs, and results() has the other {total - len(missing)} "
        f"(its .points says which each is, .missing why each other is not there): {named}{more}. "
        "j.resubmit() runs the failed points again; results(strict=True) raises for the first instead."
    )
