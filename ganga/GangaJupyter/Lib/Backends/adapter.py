"""What GangaJupyter asks of a Ganga backend, in one place: the file to watch, the poll, the scheduler record,
live process figures, and a failed action's error in words. :class:`BackendAdapter` is also the default adapter,
for every backend without one of its own: it reads only Ganga's own fields."""
from __future__ import annotations

import contextlib
import os
import time
from typing import Any, Callable, Iterator

from ..Core.files import write_atomic
from ..Core.scheduler_record import SchedulerRecord

#: The file Ganga's job wrappers (Local's, Batch's) write in the output directory: PID when the payload starts,
#: EXITCODE when it ends.
STATUS_FILE = "__jobstatus__"
#: The file a session writes in a job's output directory while it kills the job: a session that takes the job
#: over after a crash in the middle of the kill knows the payloads it finds ended were killed.
KILL_ASKED = "__killasked__"


def _output_file(job: Any, name: str) -> str | None:
    try:
        return os.path.join(job.getOutputWorkspace(create=False).getPath(), name)
    except Exception:  # no workspace (yet)
        return None


@contextlib.contextmanager
def killing(job: Any) -> Iterator[None]:
    """While Ganga kills ``job``, its output directory says a kill was asked."""
    path = _output_file(job, KILL_ASKED)
    try:
        if path is not None and os.path.isdir(os.path.dirname(path)):
            write_atomic(path, f"{time.time()}\n")
    except OSError:
        path = None  # a full disk must not stop the kill
    try:
        yield
    finally:
        if path is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)


def kill_was_asked(job: Any) -> bool:
    """Whether a session was killing ``job`` (or its master) when it died."""
    for one in (job, job.master) if job.master is not None else (job,):
        path = _output_file(one, KILL_ASKED)
        if path is not None and os.path.exists(path):
            return True
    return False


def _text(value: Any) -> str:
    return "" if value is None or isinstance(value, bool) else str(value)


class BackendAdapter:
    """The default adapter. Subclasses set :attr:`name` and override what their backend knows better."""

    #: The Ganga backend ``_name`` this adapter speaks for ("" for the default).
    name: str = ""
    #: The backend's Python class name when it is not ``name``: Ganga's repository index stores that one.
    class_name: str = ""
    #: The job runs on this machine, with this machine's Python and files (NotebookApp uses this Python there).
    runs_here: bool = False

    def watched_file(self, job: Any) -> str | None:
        """The file in ``job``'s output directory that changes when its state does; None: not watched (Ganga's poll
        alone follows the job)."""
        return None

    def update(self, jobs: list[Any]) -> Any:
        """Bring ``jobs`` (all on this backend) up to date, as Ganga's poll does: the backend class's own
        ``updateMonitoringInformation``. An adapter whose update is a coroutine function defines it with
        ``async def``."""
        if jobs:
            return type(jobs[0].backend).updateMonitoringInformation(jobs)
        return None

    def scheduler_record(self, job: Any) -> SchedulerRecord:
        """What the backend says about ``job``, from Ganga's own fields (its status in the backend's words, where it
        runs, its exit code)."""
        backend = job.backend
        status = getattr(backend, "status", "")
        return SchedulerRecord(
            system=_text(getattr(backend, "_name", "")),
            state=status if isinstance(status, str) else "",
            nodes=_text(getattr(backend, "actualCE", "")),
            exit_code=_text(getattr(backend, "exitcode", None)),
        )

    def live_figures(self, job: Any) -> dict[str, float]:
        """Of a running job: ``{"cpu_seconds": ..., "rss_bytes": ...}`` of its processes; {} when unknown."""
        return {}

    def explain(self, error: BaseException) -> str:
        """A failed action's error, in words that name the fix."""
        return str(error)

    def went_out(self, job: Any) -> bool:
        """Whether ``job`` (a job or subjob its session marked submitted) reached the backend: asked when the session
        that submitted it died, to tell a job to monitor from one that never left. The default: the backend gave
        it an id."""
        return getattr(job.backend, "id", None) not in (None, "", -1, 0, [], [-1])

    def ending(self, job: Any) -> bool:
        """Whether ``job``'s payload has ended on its own and the backend has yet to record how (asked before a
        kill, which would otherwise mark it killed); False when the backend cannot tell (the default)."""
        return False

    def pause(self, job: Any, parts: list[Any]) -> Callable[[], None]:
        """Stop the processes of ``parts`` (``job`` itself, or subjobs of it) just before ``job`` is killed, so that
        none ends between the last read of how they are and the kill; returns what resumes them, which is harmless
        once they are killed. The default stops nothing (the backend's processes are not this machine's)."""
        return lambda: None

    def resume(self, job: Any, parts: list[Any], parts_only: bool = False) -> None:
        """Let the processes of ``parts`` go on if a session paused them for a kill and died before it killed:
        asked of every job a session takes over. ``parts_only`` leaves what starts more of ``job``'s parts
        paused (a kill lets the payloads that ended record how, and starts no new one). The default has nothing
        to resume."""

    def lost_status(self, job: Any) -> str | None:
        """For a job (or subjob) marked submitted or running whose session died: the final status when the backend
        shows it ended without saying how (its process is gone), ``killed`` if that session was killing it; None
        when the backend's own poll will tell (the default)."""
        return None
