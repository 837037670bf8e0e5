"""Ganga's "multiple sessions" warnings are not said: with GangaJupyter, every session on a gangadir monitors."""
from __future__ import annotations

import logging
import re

import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml
import GangaCore.Runtime.Repository_runtime as repository_runtime

from .patch import Patch

#: What Ganga 8.7.12 says when it finds another session, and when another session removed a job.
SAID = re.compile(
    r"\d+ other concurrent sessions:|Multiple Ganga sessions detected\.|Type 'enableMonitoring\(\)' to restart"
    r"|Registry '[\w.]+': Job [\d,]+ externally deleted\."
)


class OtherSessionsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            return not SAID.match(record.getMessage())
        except Exception:  # a record whose arguments do not format is Ganga's to show
            return True


FILTER = OtherSessionsFilter()
LOGGERS = (repository_runtime.logger, repository_xml.logger)


class QuietOtherSessions(Patch):
    def still_needed(self) -> bool:
        import inspect

        return "Multiple Ganga sessions detected" in inspect.getsource(repository_runtime)

    def installed(self) -> bool:
        return all(FILTER in logger.filters for logger in LOGGERS)

    def apply(self) -> None:
        for logger in LOGGERS:
            logger.addFilter(FILTER)


PATCH = QuietOtherSessions(
    name="quiet_other_sessions",
    changes="GangaCore.Runtime.Repository_runtime.logger, GangaCore.Core.GangaRepository.GangaRepositoryXML.logger",
    why=(
        "When another session uses the gangadir, Ganga 8.7.12 warns ``Multiple Ganga sessions detected. The "
        "Monitoring Thread is being disabled.`` and turns its monitoring's autostart off; when another session "
        "removes a job, it warns ``Job N externally deleted``. With GangaJupyter every session monitors the jobs "
        "it holds (docs/shared-gangadir.rst), and a removal by another notebook is expected, so these lines would "
        "be wrong in a notebook's output: a filter on those two loggers drops exactly them."
    ),
)
