"""Ganga's log in a notebook: routine lines go to the job views, warnings and errors once to the cell that
caused them, and nothing lands in an unrelated cell.

Ganga logs through the root logger's two screen handlers (stdout, and stderr for errors). In a kernel, a line
written there appears in whichever cell ran last, whatever thread wrote it. The router is a filter on those two
handlers: each Ganga record is filed in :data:`~GangaJupyter.Lib.Core.job_messages.job_messages` under the job it
concerns (shown in that job's view, and by ``%ganga_log``); a warning or error logged by the running cell's own
thread is also shown in that cell, grouped; nothing is printed. ``[Jupyter] ganga_log_in_cells = True`` prints
them as plain Ganga does. Ganga's log file, the Ganga CLI and scripts are untouched.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

from .. import settings
from ..Display.render import messages_html
from ..Core.job_messages import Message, job_messages

#: "job 3", "Job 3.7", "Splitting Job: 3", "job #3"
_JOB = re.compile(r"\b[Jj]ob[\s:#]*(\d+(?:\.\d+)?)\b")
#: How long a thread's last-named job is the one its unnamed lines concern ("Preparing subjobs" after
#: "submitting job 3"): Ganga does one job at a time per thread.
THREAD_MEMORY = 10.0


def _text(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        text += f" ({type(error).__name__}: {error})"
    return text.strip()


class _CellNotices:
    """The warnings and errors of the running cell: displayed once, in that cell, updated as more come."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], list[Any]] = {}
        self.handle: Any = None

    def add(self, message: Message) -> None:
        from IPython.display import display

        key = (message.level, message.text)
        if key in self.counts:
            self.counts[key][1] += 1
        else:
            self.counts[key] = [message, 1]
        rows = [(m, n) for m, n in self.counts.values()]
        errors = any(m.level in ("ERROR", "CRITICAL") for m, _ in rows)
        title = "Ganga reported " + ("errors" if errors else "warnings") + " while this cell ran"
        bundle = {
            "text/html": messages_html(title, rows, level="error" if errors else "warning"),
            "text/plain": "\n".join(f"Ganga {m.level}: {m.text}" + (f" (x{n})" if n > 1 else "") for m, n in rows),
        }
        if self.handle is None:
            self.handle = display(bundle, raw=True, display_id=True)
        else:
            self.handle.update(bundle, raw=True)


class GangaLogRouter(logging.Filter):
    """A filter for Ganga's screen handlers; see the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self._memory = threading.local()
        self._cell: _CellNotices | None = None
        self._cell_thread: threading.Thread | None = None
        self._showing = False

    # ------------------------------------------------------------- the running cell (IPython events)
    def cell_started(self, *_: Any) -> None:
        self._cell, self._cell_thread = _CellNotices(), threading.current_thread()
        self._memory.__dict__.clear()

    def cell_ended(self, *_: Any) -> None:
        self._cell = None

    # ------------------------------------------------------------- records
    def filter(self, record: logging.LogRecord) -> bool:
        decided = getattr(record, "_gangajupyter_print", None)
        if decided is None:  # the first of the two handlers to see it decides; the other follows
            try:
                decided = self._route(record)
            except Exception:  # a filter that raises would raise out of Ganga's own logging call: print instead
                decided = True
            record._gangajupyter_print = decided
        return decided

    def _route(self, record: logging.LogRecord) -> bool:
        in_cell = self._cell is not None and threading.current_thread() is self._cell_thread
        if not record.name.startswith("Ganga"):
            if in_cell:
                return True  # the user's own logging, in the user's cell
            job_messages.add(record.levelname, _text(record), source=record.name)
            return False  # a library's background thread (watchdog, tornado, ...): never a random cell
        if settings.option("ganga_log_in_cells"):
            return True
        text = _text(record)
        message = job_messages.add(record.levelname, text, self._job_of(text), record.name)
        if record.levelno >= logging.WARNING and in_cell and not self._showing:
            self._showing = True  # displaying must not log its way back here
            try:
                self._cell.add(message)
            finally:
                self._showing = False
        return False

    def _job_of(self, text: str) -> str:
        found = _JOB.search(text)
        if found:
            self._memory.fqid, self._memory.at = found.group(1), time.monotonic()
            return found.group(1)
        if getattr(self._memory, "fqid", "") and time.monotonic() - self._memory.at < THREAD_MEMORY:
            return self._memory.fqid
        return ""


_router = GangaLogRouter()
_shells: set[int] = set()


def install(shell: Any, in_cell: bool = False) -> None:
    """Route Ganga's log in ``shell``'s kernel. Call before Ganga starts (its stdout handler exists from import)
    and again after (its stderr handler is made by the bootstrap). ``in_cell``: called from a running cell."""
    from GangaCore.Utility import logging as ganga_logging

    for handler in (ganga_logging.direct_screen_handler, ganga_logging.error_handler):
        if handler is not None and _router not in handler.filters:
            handler.addFilter(_router)
    if id(shell) not in _shells:
        _shells.add(id(shell))
        shell.events.register("pre_run_cell", _router.cell_started)
        shell.events.register("post_run_cell", _router.cell_ended)
        if in_cell:
            _router.cell_started()
