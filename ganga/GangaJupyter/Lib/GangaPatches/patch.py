"""What a patch of Ganga is: a named change to one of Ganga's classes or configuration sections, saying what it
changes and why, checking whether the installed Ganga still needs it, and installing itself once.

Two kinds cover most patches: :class:`WrapperPatch` puts wrappers around Ganga's methods, :class:`AttributePatch`
gives Ganga's classes an attribute Ganga does not define. Several patches may wrap the same method: each wrapper
has a fixed depth, and the method is rebuilt from Ganga's own function in that order whenever a patch is added,
so the wrappers nest the same way whichever patches a Ganga release still needs and whatever order they are
installed in.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

#: When most patches are installed (the exceptions say when they are).
AT_LOAD = "when Ganga loads GangaJupyter (loadPlugins)"


@dataclass(eq=False, kw_only=True)
class Patch:
    """One change to Ganga. ``changes`` names what it changes (dotted paths), ``why`` is the text the docs show
    (reStructuredText: the Ganga 8.7.12 bug or gap, and what the patch does about it)."""

    name: str
    changes: str
    why: str
    when: str = AT_LOAD

    def still_needed(self) -> bool:
        """Whether the installed Ganga still needs this patch; True for additions Ganga has no equivalent of."""
        return True

    def installed(self) -> bool:
        """Whether the change is in place now."""
        raise NotImplementedError

    def apply(self) -> None:
        """Make the change (:meth:`install` calls it only when needed and not in place)."""
        raise NotImplementedError

    def install(self) -> None:
        """Make the change if the installed Ganga needs it and it is not in place yet (idempotent)."""
        if not self.installed() and self.still_needed():
            self.apply()


# ------------------------------------------------------------------------------------------------ wrappers

Wrapper = Callable[[Callable[..., Any]], Callable[..., Any]]


@dataclass(frozen=True)
class Wrap:
    """A wrapper around ``owner.attribute``: ``wrapper(inner)`` returns a function that calls ``inner`` (Ganga's
    function, or the next wrapper in). ``depth`` orders GangaJupyter's wrappers of one method: 0 is outermost."""

    owner: type
    attribute: str
    wrapper: Wrapper
    depth: int = 0


_ganga_attributes: dict[tuple[type, str], Any] = {}  # Ganga's own raw attribute, before any wrapper
_layers: dict[tuple[type, str], dict[str, Wrap]] = {}  # patch name -> its wrap, per method
_built: dict[tuple[type, str], Any] = {}  # the raw attribute last set on the class


def _function(raw: Any) -> Callable[..., Any]:
    return raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw


def ganga_function(owner: type, attribute: str) -> Callable[..., Any]:
    """Ganga's own function for ``owner.attribute`` (inherited or not), under any wrappers GangaJupyter added."""
    raw = _ganga_attributes.get((owner, attribute))
    return _function(raw if raw is not None else inspect.getattr_static(owner, attribute))


def ganga_source(owner: type, attribute: str) -> str:
    """The source of Ganga's own function for ``owner.attribute`` ("" when Python cannot show it)."""
    try:
        return inspect.getsource(ganga_function(owner, attribute))
    except (OSError, TypeError):
        return ""


def _rebuild(key: tuple[type, str]) -> None:
    owner, attribute = key
    raw = _ganga_attributes[key]
    function = _function(raw)
    for wrap in sorted(_layers[key].values(), key=lambda w: w.depth, reverse=True):  # innermost first
        function = wrap.wrapper(function)
    built = type(raw)(function) if isinstance(raw, (staticmethod, classmethod)) else function
    setattr(owner, attribute, built)
    _built[key] = built


@dataclass(eq=False, kw_only=True)
class WrapperPatch(Patch):
    """Wrappers around Ganga's methods (several methods may belong to one patch)."""

    wraps: tuple[Wrap, ...] = ()

    def installed(self) -> bool:
        return bool(self.wraps) and all(
            self.name in _layers.get((w.owner, w.attribute), {})
            and inspect.getattr_static(w.owner, w.attribute) is _built.get((w.owner, w.attribute))
            for w in self.wraps
        )

    def apply(self) -> None:
        for wrap in self.wraps:
            key = (wrap.owner, wrap.attribute)
            current = inspect.getattr_static(wrap.owner, wrap.attribute)
            if key not in _ganga_attributes or current is not _built.get(key):
                _ganga_attributes[key] = current  # Ganga's (or whatever replaced our wrappers since)
                _layers[key] = {}
            _layers[key][self.name] = wrap
            _rebuild(key)


# ------------------------------------------------------------------------------------------------ attributes


@dataclass(eq=False, kw_only=True)
class AttributePatch(Patch):
    """``owners`` get ``attribute`` = ``value``, an attribute Ganga does not define on them."""

    owners: tuple[type, ...] = ()
    attribute: str = ""
    value: Any = None

    def still_needed(self) -> bool:
        current = [inspect.getattr_static(owner, self.attribute, None) for owner in self.owners]
        return not any(value is not None and value is not self.value for value in current)

    def installed(self) -> bool:
        return all(inspect.getattr_static(owner, self.attribute, None) is self.value for owner in self.owners)

    def apply(self) -> None:
        for owner in self.owners:
            setattr(owner, self.attribute, self.value)
