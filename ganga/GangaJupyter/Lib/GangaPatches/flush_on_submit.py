"""The job is on disk as it is in memory before its backend sees it, and again when ``submit()`` returns (and
``resubmit()`` and ``kill()``)."""
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


def _flushed_before_backend(prepare_hook: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(prepare_hook)
    def flush_then_prepare_hook(self, *args, **kwargs):
        # Ganga calls this hook once the job is split and prepared, just before the backend's master_submit: a
        # session killed from here on leaves every subjob on disk, so none that reaches the backend is lost
        sharing.flush_jobs([self.getFQID(".")], must=True)
        return prepare_hook(self, *args, **kwargs)

    return flush_then_prepare_hook


PATCH = WrapperPatch(
    name="flush_on_submit",
    changes="GangaCore.GPIDev.Lib.Job.Job.Job.submit, .resubmit, .kill",
    why=(
        "Ganga 8.7.12 writes a job to disk when it is created and then every 30 s, so a kernel killed a few "
        "seconds after ``submit()`` leaves the job on disk as ``new`` and without the name or comment it was "
        "given: the next session would never monitor it, though it runs; killed while the backend took the "
        "subjobs of a new split job, it left subjobs that ran but that no session knew. ``submit()`` now writes "
        "the job with its name and all its subjobs, with Ganga's own flush, just before the backend sees it "
        "(``Job.monitorPrepare_hook``, which Ganga calls right before ``master_submit``; a write that fails "
        "fails the submit, which Ganga rolls back), and again before it returns, as ``resubmit()`` and ``kill()`` "
        "are: a notebook that shows the job right after one of them returned elsewhere reads it from disk as it "
        "is (the session's journal line follows the write by tens of milliseconds); each later status change is "
        "written within a second by the session's persisting thread (``Session.service``)."
    ),
    wraps=(
        Wrap(Job, "submit", _flushed, depth=FLUSH_ON_SUBMIT),
        Wrap(Job, "monitorPrepare_hook", _flushed_before_backend),
        # outside calls_to_holder's (depth 9): a call another session made writes nothing here
        Wrap(Job, "resubmit", _flushed, depth=8),
        Wrap(Job, "kill", _flushed, depth=8),
    ),
)
