"""Notices in the output of the running cell: what GangaJupyter has to tell the user, with the fix."""
from __future__ import annotations

from ..Display.render import notice_html


def notify(message: str, fix: str = "", level: str = "warning") -> None:
    """Show a notice in the output of the running cell (HTML, with a plain-text form for other front ends)."""
    from IPython.display import display

    text = f"GangaJupyter: {message}" + (f"\n{fix}" if fix else "")
    display({"text/html": notice_html(message, fix, level), "text/plain": text}, raw=True)
