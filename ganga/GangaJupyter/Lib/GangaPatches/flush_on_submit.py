"""When ``submit()`` returns, the job is on disk as it is in memory."""
from __future__ import annotations

import functools
from typing import Any, Callable

from GangaCore.GPIDev.Lib.Job.Job import Job

from ..Session import sharing
from .after_submit import FLUSH_ON_SUBMIT
from .patch import Wrap, WrapperPatch


def _flushed(submit: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(submit)
    def submit_and_flush(self, *args, **kwargs):
        try:
            return submit(self, *args, **kwargs)
        finally:
            sharing.flush_jobs([self.getFQID(".")])  # a failed submit's rollback is written too

    return submit_and_flush


PATCH = WrapperPatch(
    name="flush_on_submit",
    changes="GangaCore.GPIDev.Lib.Job.Job.Job.submit",
    why=(
        "Ganga 8.7.12 writes a job to disk when it is created and then every 30 s, so a kernel killed a few "
        "seconds after ``submit()`` leaves the job on disk as ``new`` and without the name or comment it was "
        "given: the next session would never monitor it, though it runs. ``submit()`` now writes the job (and "
        "its subjobs) before it returns, with Ganga's own flush; each later status change is written within a "
        "second by the session's persisting thread (``Session.service``)."
    ),
    wraps=(Wrap(Job, "submit", _flushed, depth=FLUSH_ON_SUBMIT),),
)
