"""The one hook on Ganga's core: every assignment of a job's or subjob's ``status`` goes to the event stream."""
from __future__ import annotations

from GangaCore.GPIDev.Base.Objects import Descriptor
from GangaCore.GPIDev.Lib.Job.Job import Job

from ..Monitor.events import status_events
from .patch import Patch


class StatusHookDescriptor(Descriptor):
    """Ganga's own descriptor for ``Job.status``, telling the event stream about every change."""

    __slots__ = ()

    def __set__(self, obj, val):  # Ganga wraps __set__ as (self, obj, val): keep exactly these arguments
        old = obj._data.get("status")
        Descriptor.__set__(self, obj, val)
        if old != val and obj._data.get("id") is not None:
            try:
                fqid = obj.getFQID(".")
            except Exception:  # a job being built or copied has no identity yet
                return
            if fqid:
                status_events.publish(fqid, val)


class StatusHook(Patch):
    def installed(self) -> bool:
        return isinstance(Job.__dict__.get("status"), StatusHookDescriptor)

    def apply(self) -> None:
        Job.status = StatusHookDescriptor("status", Job._schema["status"])


PATCH = StatusHook(
    name="status_hook",
    changes="GangaCore.GPIDev.Lib.Job.Job.Job.status",
    why=(
        "Ganga 8.7.12 has no event API for status changes, and its schema ``checkset`` hook is never called. "
        "Ganga's own ``status`` descriptor is replaced by a subclass that also tells GangaJupyter's event stream "
        "(``Monitor.events``) about every change: monitoring updates, submit, kill, resubmit, remove and direct "
        "assignments, on whatever thread makes them. It only records the change; views, the session journal and "
        "fast detection subscribe to the stream."
    ),
)
