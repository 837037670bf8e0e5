"""What GangaJupyter asks of a Ganga backend, in one place: the file to watch, the poll, the scheduler record,
live process figures, and a failed action's error in words. :class:`BackendAdapter` is also the default adapter,
for every backend without one of its own: it reads only Ganga's own fields."""
from __future__ import annotations

from typing import Any

from ..Core.scheduler_record import SchedulerRecord

#: The file Ganga's job wrappers (Local's, Batch's) write in the output directory: PID when the payload starts,
#: EXITCODE when it ends.
STATUS_FILE = "__jobstatus__"


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
