"""``kill()``, ``resubmit()`` and ``remove()`` of a job another session holds are made by that session."""
from __future__ import annotations

import functools
from typing import Any, Callable

from GangaCore.GPIDev.Lib.Job.Job import Job

from ..Backends.adapter import killing
from ..Monitor.status_file_watch import settled_for_kill
from ..Session import sharing
from .patch import Wrap, WrapperPatch


def _in_holder(method: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrapper(inner: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(inner)
        def here_or_in_holder(self, *args, **kwargs):
            if not sharing.may_call_holder() or sharing.holder(self) is None:
                if method != "kill":
                    return inner(self, *args, **kwargs)
                # a session that takes the job over after a crash mid-kill knows; what ended keeps its status
                with killing(self):
                    with settled_for_kill(self):
                        killed = inner(self, *args, **kwargs)
                    sharing.flush_jobs([self.getFQID(".")])  # on disk before the file saying a kill was asked goes
                    return killed
            if args or kwargs:
                raise sharing.JobHeldElsewhere(
                    f"Job {self.getFQID('.')} belongs to another notebook's session, which makes this call for "
                    f"you only without arguments: call {method}() with these arguments in that notebook."
                )
            sharing.call_in_holder(self, f"job.{method}")
            return True

        return here_or_in_holder

    return wrapper


PATCH = WrapperPatch(
    name="calls_to_holder",
    changes="GangaCore.GPIDev.Lib.Job.Job.Job.kill, .resubmit, .remove",
    why=(
        "Ganga 8.7.12 lets only the session that holds a job's lock change it, so in a second session on the "
        "gangadir ``jobs(3).kill()`` fails with ``RegistryLockError``. Ganga's locking stays as it is: when another "
        "live GangaJupyter session holds the job, the call is sent to that session (the request files the Jobs "
        "browser uses, docs/shared-gangadir.rst), which makes Ganga's own call; the job is then read again from "
        "disk. A job this session holds, or nobody holds, is Ganga's call as before; while it kills one, a file in "
        "the job's output directory says so, for a session that takes the job over if this one dies mid-kill; and "
        "before Ganga kills, the status files of the parts still active are read, so a payload that ended since "
        "the last poll keeps its true status (Ganga's kill marks every part it finds active ``killed``)."
    ),
    wraps=tuple(Wrap(Job, method, _in_holder(method), depth=9) for method in ("kill", "resubmit", "remove")),
)
