"""Which jobs' ``submit()`` is running, and what runs when it returns. Ganga says neither: the ``after_submit``
and ``submit_race`` patches wrap its ``Job.submit`` in :func:`submitting` and :func:`holding`."""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator

_lock = threading.Lock()
_in_submit: set[int] = set()
_held: set[int] = set()
_callbacks: list[Callable[[Any], None]] = []


def submit_in_progress(job: Any) -> bool:
    """True while ``submit()`` of this job (or of its master) has not returned."""
    return id(job.master or job) in _in_submit


def held_by_submit(job: Any) -> bool:
    """True while Ganga's ``submit()`` of this job (or of its master) may still mark it ``submitted`` again: an
    update that completed it now would be undone."""
    return id(job.master or job) in _held


def after_submit(callback: Callable[[Any], None]) -> None:
    """Call ``callback(job)`` each time a job's ``submit()`` returns (or fails)."""
    _callbacks.append(callback)


@contextlib.contextmanager
def submitting(job: Any) -> Iterator[None]:
    """Around Ganga's ``submit()`` of ``job``: :func:`submit_in_progress` meanwhile, the callbacks after."""
    with _lock:
        _in_submit.add(id(job))
    try:
        yield
    finally:
        with _lock:
            _in_submit.discard(id(job))
        for callback in _callbacks:
            callback(job)


@contextlib.contextmanager
def holding(job: Any) -> Iterator[None]:
    """Around Ganga's ``submit()`` of ``job`` while it has its second ``submitted`` update: :func:`held_by_submit`."""
    with _lock:
        _held.add(id(job))
    try:
        yield
    finally:
        with _lock:
            _held.discard(id(job))
