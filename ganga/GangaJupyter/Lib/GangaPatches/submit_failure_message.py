"""A submission the backend refused says so, instead of a forbidden status transition."""
from __future__ import annotations

import functools
import re
from typing import Any, Callable

from GangaCore.GPIDev.Adapters.IBackend import IBackend
from GangaCore.GPIDev.Lib.Job.Error import JobError, JobStatusError
from GangaCore.GPIDev.Lib.Job.Job import Job

from .after_submit import SUBMIT_FAILURE_MESSAGE
from .patch import Wrap, WrapperPatch, ganga_source

#: Ganga 8.7.12: the backend's refusal rolls the job back to new, then Job.submit marks it failed.
ROLLS_BACK_TO_NEW = re.compile(r"sj\.updateStatus\('new'\)")
THEN_MARKS_FAILED = re.compile(
    r'except IncompleteJobSubmissionError[^\n]*\n(?:[^\n]*\n){0,2}?\s*self\.updateStatus\("failed"\)'
)


def _say_refused(submit: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(submit)
    def submit_saying_why(self, *args, **kwargs):
        try:
            return submit(self, *args, **kwargs)
        except JobStatusError as err:
            if self.status != "new" or '"new" to "failed"' not in str(err):
                raise
            raise JobError(
                f"job {self.getFQID('.')} was not submitted and stays 'new' (nothing is lost): the backend refused "
                "it, for the reason in the ERROR message above. Fix that and submit it again"
            ) from None

    return submit_saying_why


class SubmitFailureMessage(WrapperPatch):
    def still_needed(self) -> bool:
        return bool(
            ROLLS_BACK_TO_NEW.search(ganga_source(IBackend, "master_submit"))
            and THEN_MARKS_FAILED.search(ganga_source(Job, "submit"))
        )


PATCH = SubmitFailureMessage(
    name="submit_failure_message",
    changes="GangaCore.GPIDev.Lib.Job.Job.Job.submit",
    why=(
        "When a backend refuses a job that is not split, Ganga 8.7.12 rolls it back to ``new`` "
        "(``IBackend.master_submit``) and then ``Job.submit`` tries to mark it ``failed``, so the user gets "
        "``JobStatusError: forbidden status transition of job N from \"new\" to \"failed\"`` instead of the reason, "
        "which Ganga logged just before. ``Job.submit`` is wrapped to raise a ``JobError`` that says the job stays "
        "``new`` and points at that reason."
    ),
    wraps=(Wrap(Job, "submit", _say_refused, depth=SUBMIT_FAILURE_MESSAGE),),
)
