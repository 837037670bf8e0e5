"""In a notebook, Ganga's exceptions show as their messages, without the Python stack."""
from __future__ import annotations

from GangaCore.Core.exceptions import GangaException

from .patch import AttributePatch


def render_ganga_error(self: BaseException) -> list[str]:
    """How IPython shows a Ganga exception in a notebook: Ganga's messages (this one and the ones that caused
    it, which name the problem), not a Python stack."""
    lines, seen, error = [], set(), self
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        lines.append(("\x1b[0;31m" if not lines else "  caused by: ") + str(error) + ("\x1b[0m" if not lines else ""))
        error = error.__cause__ or error.__context__
    return lines


PATCH = AttributePatch(
    name="short_errors",
    changes="GangaCore.Core.exceptions.GangaException._render_traceback_",
    why=(
        "A Ganga exception raised in a notebook cell shows as a long Python stack through Ganga's proxies, with "
        "the message that names the problem at its end. IPython shows an exception with ``_render_traceback_`` "
        "as what that method returns: Ganga's exceptions get one that returns their message and those of the "
        "errors that caused them."
    ),
    when="in an IPython shell, when [Jupyter] short_ganga_errors is on (Kernel/activation)",
    owners=(GangaException,),
    attribute="_render_traceback_",
    value=render_ganga_error,
)
