"""Finding an object's id in a registry looks at the id the repository gave it first, not at every object."""
from __future__ import annotations

import functools
from typing import Any, Callable

from GangaCore.Core.GangaRepository.Registry import Registry

from .patch import Wrap, WrapperPatch, ganga_source

GANGA_SCAN = "for id_, o in self._objects.items() if o is obj"


def _by_id_first(find: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(find)
    def find_by_id_first(self, obj):
        this_id = obj.__dict__.get("_registry_id") if hasattr(obj, "__dict__") else None  # set as it was added
        try:
            if this_id is not None and self._objects.get(this_id) is obj:
                return this_id
        except (AttributeError, TypeError):  # objects that are not a dict: Ganga's scan
            pass
        return find(self, obj)

    return find_by_id_first


class RegistryFindById(WrapperPatch):
    def still_needed(self) -> bool:
        return GANGA_SCAN in ganga_source(Registry, "find")


PATCH = RegistryFindById(
    name="registry_find_by_id",
    changes="GangaCore.Core.GangaRepository.Registry.Registry.find",
    why=(
        "Ganga 8.7.12's ``Registry.find(obj)`` looks for the object among all of the registry's objects, one by "
        "one, and ``has_loaded`` calls it every time a job's index entry is read or set: reading a 10,000-job "
        "repository at start-up compared 10,000 x 10,000 objects. The id the repository gave the object when it "
        "added it (``_registry_id``) is tried first, and confirmed to be that very object; otherwise Ganga's own "
        "scan runs. The answer is the same."
    ),
    wraps=(Wrap(Registry, "find", _by_id_first),),
)
