"""The one hook on Ganga's core: every assignment of a job's or subjob's ``status`` goes to the event stream.

Ganga 8.7.12 has no event API for status changes, and its schema ``checkset`` hook is never called. Replacing
the ``status`` descriptor of ``Job`` catches every change (monitoring updates, submit, kill, resubmit, remove
and direct assignments) on whatever thread makes it; the callback only records the change.
"""
from __future__ import annotations

from GangaCore.GPIDev.Base.Objects import Descriptor
from GangaCore.GPIDev.Lib.Job.Job import Job

from .events import status_events


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
            status_events.publish(fqid, val)


def install() -> None:
    """Put the hook on ``Job.status`` (idempotent)."""
    if not isinstance(Job.__dict__.get("status"), StatusHookDescriptor):
        Job.status = StatusHookDescriptor("status", Job._schema["status"])
