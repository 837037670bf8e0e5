"""Output files of jobs on GangaJupyter's ``HTCondor`` backend are handled where ``Condor``'s are."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from GangaCore.Utility.Config import getConfig

from .patch import Patch

BACKEND, LIKE = "HTCondor", "Condor"


def _where_by_file_type() -> dict[str, dict[str, Any]]:
    """``[Output] <file type> backendPostprocess`` of each file type that names ``Condor``."""
    found = {}
    for file_type, settings in getConfig("Output").getEffectiveOptions().items():
        where = settings.get("backendPostprocess") if isinstance(settings, dict) else None
        if isinstance(where, dict) and LIKE in where:
            found[file_type] = where
    return found


@dataclass(eq=False, kw_only=True)
class HTCondorOutput(Patch):
    _added: set[str] = field(default_factory=set, init=False, repr=False)  # file types whose entry is this patch's

    def still_needed(self) -> bool:
        return any(t in self._added or BACKEND not in where for t, where in _where_by_file_type().items())

    def installed(self) -> bool:
        found = _where_by_file_type()
        return bool(self._added) and all(BACKEND in where for where in found.values())

    def apply(self) -> None:
        for file_type, where in _where_by_file_type().items():
            if BACKEND not in where:
                where[BACKEND] = where[LIKE]
                self._added.add(file_type)


PATCH = HTCondorOutput(
    name="htcondor_output",
    changes="[Output] <file type> backendPostprocess",
    why=(
        "``[Output] <file type> backendPostprocess`` says, per backend, where output files of each type are "
        "handled (``LocalFile`` on the client, mass storage from the worker, ...). Ganga 8.7.12 knows only its own "
        "backends, so GangaJupyter's ``HTCondor`` backend gets the entries of ``Condor``."
    ),
)
