"""Ganga configuration that the ``HTCondor`` backend needs, declared before Ganga bootstraps.

* ``[PollThread] HTCondor``: Ganga's monitoring loop polls a backend at its own rate only when the option is
  declared (an undeclared ``[PollThread] HTCondor`` in ``.gangarc`` is ignored and the 30 s default applies).
* ``[Output] <file type> backendPostprocess``: where output files of each type are handled, per backend; the
  ``HTCondor`` entries copy ``Condor``'s (LocalFile on the client, mass storage from the worker, ...).
"""
from __future__ import annotations

from GangaCore.Utility.Config import getConfig
from GangaCore.Utility.Config.Config import ConfigError
from GangaCore.Utility.logging import getLogger

logger = getLogger()

#: Seconds between two schedd queries while HTCondor jobs are active (one query for all of them).
POLL_RATE = 0.5


def declare() -> None:
    poll = getConfig("PollThread")
    if "HTCondor" not in poll.options:
        try:
            poll.addOption(
                "HTCondor", POLL_RATE, "Poll rate for GangaJupyter's HTCondor backend (one schedd query per poll)",
                typelist=["int", "float"],
            )
        except ConfigError:  # imported after Ganga bootstrapped: the backend is polled at default_backend_poll_rate
            logger.debug("GangaJupyter: [PollThread] HTCondor could not be declared after bootstrap")
    for settings in getConfig("Output").getEffectiveOptions().values():
        where = settings.get("backendPostprocess") if isinstance(settings, dict) else None
        if isinstance(where, dict) and "Condor" in where:
            where.setdefault("HTCondor", where["Condor"])
