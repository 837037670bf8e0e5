"""Ganga's ``Job.submit`` tells GangaJupyter when it runs and when it returns (``Monitor.submits``)."""
from __future__ import annotations

import functools
from typing import Any, Callable

from GangaCore.GPIDev.Lib.Job.Job import Job

from ..Monitor import submits
from .patch import Wrap, WrapperPatch

#: Depths of GangaJupyter's wrappers of ``Job.submit`` (0 outermost): the failure message translates what the
#: others let through; the after-submit callbacks run once the race guard has let go of the job, so the
#: updates they start are not held back; the job is on disk before any of them sees it returned.
SUBMIT_FAILURE_MESSAGE, AFTER_SUBMIT, SUBMIT_RACE, FLUSH_ON_SUBMIT = 0, 1, 2, 3


def _track(submit: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(submit)
    def tracked_submit(self, *args, **kwargs):
        with submits.submitting(self):
            return submit(self, *args, **kwargs)

    return tracked_submit


PATCH = WrapperPatch(
    name="after_submit",
    changes="GangaCore.GPIDev.Lib.Job.Job.Job.submit",
    why=(
        "Ganga 8.7.12 says neither whether a job's ``submit()`` is still running nor when it has returned. Fast "
        "detection starts watching a job's folder once ``submit()`` has made every subjob folder (watchdog's "
        "recursive watch registers a folder made while it walks a new one twice, and warns about it), and reads "
        "then what the job wrote meanwhile. ``Job.submit`` is wrapped to keep the set of jobs being submitted and "
        "to call GangaJupyter's callbacks when it returns."
    ),
    wraps=(Wrap(Job, "submit", _track, depth=AFTER_SUBMIT),),
)
