"""NotebookSweep: one subjob per parameter set of a NotebookApp (a list of sets, or a grid)."""
from __future__ import annotations

import itertools
from typing import Any

from GangaCore.Core.exceptions import SplitterError
from GangaCore.GPIDev.Adapters.ISplitter import ISplitter
from GangaCore.GPIDev.Base.Proxy import getName
from GangaCore.GPIDev.Schema import Schema, SimpleItem, Version


class NotebookSweep(ISplitter):
    """Split a NotebookApp job into one subjob per parameter set: a parameter sweep, papermill style.

    ``parameters`` lists the sets (``[{"mass": 125}, {"mass": 130}]``); ``grid`` gives values per name and takes
    every combination (``{"mass": [125, 130], "width": [1, 2]}`` makes four subjobs). Each set is merged over the
    application's own ``parameters``. Collect the results with ``NotebookMerger`` or ``j.application.results()``.

    ``points_per_job=k`` runs k points one after another in each subjob's one kernel (each in a fresh namespace):
    a kernel's start (a second or two) is paid once per k points. Each point is still its own entry of
    ``results()``, and a failed point does not stop the others of its subjob; the subjob then fails, and
    resubmitting it runs its k points again.
    """

    _schema = Schema(
        Version(1, 0),
        {
            "parameters": SimpleItem(defvalue=[], typelist=[dict], sequence=1, doc="Parameter sets, one subjob each"),
            "grid": SimpleItem(defvalue={}, typelist=None, doc="Values per parameter; every combination is a subjob"),
            "points_per_job": SimpleItem(
                defvalue=1, typelist=[int], doc="Points run one after another in each subjob's one kernel"
            ),
        },
    )
    _category = "splitters"
    _name = "NotebookSweep"

    def points(self) -> list[dict[str, Any]]:
        """The parameter sets, in subjob order."""
        listed = [dict(p) for p in self.parameters]
        grid = dict(self.grid)
        for name, values in grid.items():
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                raise SplitterError(f"NotebookSweep: grid[{name!r}] must be a list of values, not {values!r}")
        names = list(grid)
        combos = [dict(zip(names, values)) for values in itertools.product(*(list(grid[n]) for n in names))] if names else []
        return listed + combos

    def split(self, job):
        if getName(job.application) != "NotebookApp":
            raise SplitterError(f"NotebookSweep splits NotebookApp jobs; this job runs {getName(job.application)}")
        points = self.points()
        if not points:
            raise SplitterError("NotebookSweep: no parameter sets. Give parameters=[{...}, ...] or grid={name: [values]}")
        per_job = self.points_per_job
        if isinstance(per_job, bool) or not isinstance(per_job, int) or per_job < 1:
            raise SplitterError(f"NotebookSweep: points_per_job={per_job!r}; give how many points each subjob runs (1 or more)")
        subjobs = []
        for first in range(0, len(points), per_job):
            subjob = self.createSubjob(job)
            if per_job == 1:
                subjob.application.parameters = {**dict(job.application.parameters), **points[first]}
            else:  # merged over the application's parameters when the job is described (handlers.py)
                subjob.application.points = points[first : first + per_job]
            subjobs.append(subjob)
        return subjobs
