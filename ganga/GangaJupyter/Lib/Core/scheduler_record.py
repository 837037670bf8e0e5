"""What the batch system said about a job: why it pends or why it ended, where it ran, its accounting figures.

One model for every backend (:class:`SchedulerRecord`); each backend's adapter builds it (``Backends``). Slurm's
figures arrive after the job has ended, so they are kept next to its outputs (``__scheduler__.json`` in the
output directory, :func:`read` / :func:`update` / :func:`clear`); nothing else in the job changes, so the
repository stays readable by plain Ganga. The job is duck-typed: only ``getOutputWorkspace`` is used.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Any, Iterable

from .files import write_atomic

FILENAME = "__scheduler__.json"
MAX_FILE = 64 * 1024  # bytes: a record is a few hundred; a bigger file is not one of ours


@dataclass(frozen=True)
class SchedulerRecord:
    """A job as its batch system reports it; every field is text, ``""`` when unknown."""

    system: str = ""  # "Slurm", "HTCondor", or the Ganga backend's name
    state: str = ""  # the system's own word: PENDING, Idle, Held, COMPLETED, ...
    reason: str = ""  # why it pends, is held or failed, and what to do about it
    nodes: str = ""  # where it runs or ran
    wall_time: str = ""
    cpu_time: str = ""
    max_memory: str = ""
    exit_code: str = ""

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in dataclasses.fields(self))

    @classmethod
    def from_mapping(cls, values: Any) -> SchedulerRecord:
        """The record of the known fields of ``values`` (other keys, and values that are not text or numbers, are
        dropped); empty when ``values`` is not a mapping."""
        if not isinstance(values, dict):
            return cls()
        kept = {}
        for name in FIELDS:
            value = values.get(name)
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                kept[name] = str(value)
        return cls(**kept)

    def as_dict(self) -> dict[str, str]:
        """The fields that are known."""
        return {name: value for name, value in dataclasses.asdict(self).items() if value}


FIELDS = tuple(f.name for f in dataclasses.fields(SchedulerRecord))


def _folder(job: Any, create: bool) -> str:
    return job.getOutputWorkspace(create=create).getPath()


def read(job: Any) -> SchedulerRecord:
    """The record kept for a job (or subjob); empty when none was kept or the file is not a record."""
    path = os.path.join(_folder(job, create=False), FILENAME)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE + 1)
        if len(data) > MAX_FILE:
            return SchedulerRecord()
        return SchedulerRecord.from_mapping(json.loads(data))
    except (OSError, ValueError):  # not there, unreadable, or not JSON (UnicodeDecodeError is a ValueError)
        return SchedulerRecord()


def update(job: Any, forget: Iterable[str] = (), **fields: Any) -> bool:
    """Merge ``fields`` (field names of :class:`SchedulerRecord`; empty values mean unknown and are dropped) into
    the job's record, after forgetting the fields named in ``forget`` (a reason that no longer holds); True when
    the record changed."""
    forget = tuple(forget)
    unknown = (set(fields) | set(forget)) - set(FIELDS)
    if unknown:
        raise TypeError(f"not fields of a scheduler record: {', '.join(sorted(unknown))}")
    record = read(job)
    known = {k: str(v) for k, v in fields.items() if v not in (None, "")}
    merged = dataclasses.replace(record, **{**dict.fromkeys(forget, ""), **known})
    if merged == record:
        return False
    # a view reading meanwhile sees the old or the new record, never half of it
    write_atomic(os.path.join(_folder(job, create=True), FILENAME), json.dumps(merged.as_dict()))
    return True


def clear(job: Any) -> None:
    """Forget the record (the job is resubmitted)."""
    try:
        os.remove(os.path.join(_folder(job, create=False), FILENAME))
    except OSError:
        pass
