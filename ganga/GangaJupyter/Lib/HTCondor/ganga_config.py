"""Ganga configuration that the ``HTCondor`` backend needs: ``[Output] <file type> backendPostprocess`` says where
output files of each type are handled, per backend; the ``HTCondor`` entries copy ``Condor``'s (LocalFile on the
client, mass storage from the worker, ...). Its poll period, ``[PollThread] HTCondor``, is declared with
GangaJupyter's other options of Ganga's sections (``Lib/settings.py``).
"""
from __future__ import annotations

from GangaCore.Utility.Config import getConfig


def declare() -> None:
    for settings in getConfig("Output").getEffectiveOptions().values():
        where = settings.get("backendPostprocess") if isinstance(settings, dict) else None
        if isinstance(where, dict) and "Condor" in where:
            where.setdefault("HTCondor", where["Condor"])
