"""Which adapter speaks for a job's backend: registered by Ganga backend name, as papermill registers its engines.

Each backend room registers its adapter when it is imported (``Backends.local``, ``Slurm``, ``HTCondor``); a job
on any other backend gets the default :class:`BackendAdapter`.
"""
from __future__ import annotations

import threading
from typing import Any

from .adapter import BackendAdapter

_lock = threading.Lock()
_adapters: dict[str, BackendAdapter] = {}
DEFAULT = BackendAdapter()


def register(adapter: BackendAdapter) -> BackendAdapter:
    """Make ``adapter`` the one for jobs on backend ``adapter.name`` (replacing any earlier one); returns it."""
    if not adapter.name:
        raise ValueError("an adapter needs the name of the Ganga backend it speaks for")
    with _lock:
        _adapters[adapter.name] = adapter
    return adapter


def adapter_for(job: Any) -> BackendAdapter:
    """The adapter of ``job``'s backend (by its Ganga ``_name``), or the default one; ``job`` may be a GPI proxy."""
    job = getattr(job, "_impl", job)
    name = getattr(getattr(job, "backend", None), "_name", "")
    return _adapters.get(name, DEFAULT) if isinstance(name, str) else DEFAULT


def registered() -> dict[str, BackendAdapter]:
    """Backend name -> adapter, as registered now."""
    with _lock:
        return dict(_adapters)


def backend_name(stored: str) -> str:
    """The Ganga backend name of ``stored``, a backend as Ganga's repository index holds it (its class name)."""
    with _lock:
        return next((a.name for a in _adapters.values() if a.class_name and a.class_name == stored), stored)
