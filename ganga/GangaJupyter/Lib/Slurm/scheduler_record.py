"""What the batch system said about a job, kept next to its outputs (``__scheduler__.json`` in the output
directory): why it pends or why it ended, where it ran, and its accounting figures. The job views read it
through :func:`read`; nothing else in the job changes, so the repository stays readable by plain Ganga."""
from __future__ import annotations

import json
import os
from typing import Any

from ..Core.files import write_atomic

FILENAME = "__scheduler__.json"


def _path(job: Any) -> str:
    return os.path.join(job.getOutputWorkspace(create=True).getPath(), FILENAME)


def read(job: Any) -> dict[str, Any]:
    """The record of a job (or subjob); empty when the batch system never said anything worth keeping."""
    try:
        with open(os.path.join(job.getOutputWorkspace(create=False).getPath(), FILENAME)) as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def update(job: Any, **fields: Any) -> bool:
    """Merge ``fields`` (empty values dropped) into the job's record; True when it changed."""
    record = read(job)
    merged = {**record, **{k: v for k, v in fields.items() if v not in (None, "")}}
    if merged == record:
        return False
    path = _path(job)
    write_atomic(path, json.dumps(merged))  # a view reading meanwhile sees the old or the new record, never half
    return True


def clear(job: Any) -> None:
    """Forget the record (the job is resubmitted)."""
    try:
        os.remove(_path(job))
    except OSError:
        pass
