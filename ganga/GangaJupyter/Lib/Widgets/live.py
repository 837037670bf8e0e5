"""Live views of jobs and job slices: anywidget models updated from the status event stream.

A view is displayed once, from the cell that asked for it, as one bundle: the widget, plus the static HTML and
Ganga's text for front ends without widgets. Once nothing in it can change by itself (its job finished, or no job
of the slice is active), the view is no longer needed: its display becomes the static bundle alone, and the widget
closes. So a saved, executed or exported notebook shows the same card everywhere (JupyterLab without saved
widget state, nbconvert's HTML offline, GitHub), with no widget renderer to fetch. A job or slice that is
already settled is displayed static at once. Status changes reach a view on the event stream's thread, at most
``MAX_UPDATES_PER_SECOND`` renders per view; actions (kill, peek, ...) arrive as widget messages on the
kernel's own thread.
"""
from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from pathlib import Path
from typing import Any

import anywidget
import traitlets
from GangaCore.GPIDev.Base.Proxy import addProxy, stripProxy
from GangaCore.Utility.logging import getLogger

from .. import settings
from ..Display import records, render
from ..Monitor import watch_job
from ..Monitor.events import Batch, status_events
from ..Server import actions as job_actions
from ..Core.job_files import tail
from ..Core.statuses import ACTIVE
from ..Core.text import format_duration

logger = getLogger()

MAX_UPDATES_PER_SECOND = 2
RENDER_CPU_BUDGET = 0.015  # fraction of a core one view may spend rendering subjob changes
FINAL = ("completed", "failed", "killed", "removed")
PEEK_LINES = 200


class JobWidget(anywidget.AnyWidget):
    """The browser side of a live job or slice view (``job_view.js``)."""

    _esm = Path(__file__).with_name("job_view.js")
    html = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    actions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    request = traitlets.Dict().tag(sync=True)
    reply = traitlets.Dict().tag(sync=True)
    peek = traitlets.Unicode("").tag(sync=True)
    notifications = traitlets.Bool(False).tag(sync=True)
    notice = traitlets.Dict().tag(sync=True)


class _Throttled:
    """Render at most MAX_UPDATES_PER_SECOND times a second, and within a CPU budget: the pause between two
    renders is at least 1 / RENDER_CPU_BUDGET times what the last one cost (a view of a 10,000-subjob job
    renders less often than one of a 10-subjob job). A change inside the pause renders at its end."""

    def __init__(self, render_now):
        self._render_now = render_now
        self._lock = threading.Lock()
        self._last = 0.0
        self._last_cost = 0.0
        self._timer: threading.Timer | None = None
        self.renders = 0
        self.cpu_seconds = 0.0  # CPU time spent rendering, whatever thread did it
        self.timer_cpu_seconds = 0.0  # the part spent on timer threads (not the event stream's thread)

    def _interval(self) -> float:
        return max(1.0 / MAX_UPDATES_PER_SECOND, self._last_cost / RENDER_CPU_BUDGET)

    def now(self) -> None:
        """Render at once (a change of the job's own status: a handful per job, never a flood)."""
        with self._lock:
            self._last = time.time()
        self._run()

    def request(self) -> None:
        with self._lock:
            wait = self._last + self._interval() - time.time()
            if wait > 0:
                if self._timer is None:
                    self._timer = threading.Timer(wait, self._fire)
                    self._timer.daemon = True
                    self._timer.start()
                return
            self._last = time.time()
        self._run()

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            self._last = time.time()
        before = self.cpu_seconds
        self._run()
        self.timer_cpu_seconds += self.cpu_seconds - before

    def _run(self) -> None:
        self.renders += 1
        started = time.thread_time()
        try:
            self._render_now()
        except Exception:
            logger.debug("GangaJupyter live view render failed", exc_info=True)
        finally:
            self._last_cost = time.thread_time() - started
            self.cpu_seconds += self._last_cost


class _NoWidget:
    """A view's state before it shows a widget: a view settled when displayed never opens one (no comm, no
    widget state in the notebook)."""

    def __init__(self) -> None:
        self.html, self.status, self.peek = "", "", ""
        self.actions: list[str] = []
        self.reply: dict[str, Any] = {}
        self.notice: dict[str, Any] = {}

    def widget(self) -> JobWidget:
        return JobWidget(html=self.html, status=self.status, actions=self.actions)

    def close(self) -> None:
        """Nothing to close."""


def _bundle(widget: JobWidget | _NoWidget | None, html: str, text: str) -> dict[str, Any]:
    """The widget for front ends with widgets (none once the view is settled), the static HTML and Ganga's
    text for everything else."""
    data: dict[str, Any] = {}
    if isinstance(widget, JobWidget):
        view = widget._repr_mimebundle_()
        data.update(view[0] if isinstance(view, tuple) else view)
    data.update({"text/html": html, "text/plain": text})
    return data


_views: "weakref.WeakSet[Any]" = weakref.WeakSet()
_shown: dict[str, Any] = {}  # what a live view shows ("job 3", "slice jobs") -> that view: one live view each
_shown_lock = threading.Lock()


def live_views() -> list[Any]:
    """The live views of this kernel (for benchmarks and tests)."""
    return list(_views)


def _take_over(key: str, view: Any) -> None:
    """``view`` is now the live view of ``key``: the one shown before (a re-run cell, a display in a loop) stops
    following and keeps its last card, so views never pile up."""
    with _shown_lock:
        previous, _shown[key] = _shown.get(key), view
    if previous is not None and previous is not view:
        previous.settle()


def _forget(key: str, view: Any) -> None:
    with _shown_lock:
        if _shown.get(key) is view:
            del _shown[key]


class _LiveDisplay:
    """What job and slice views share: one display, following the event stream until it settles."""

    key = ""  # what it shows ("job 3", "slice jobs"): one live view each

    def __init__(self) -> None:
        self.widget: JobWidget | _NoWidget = _NoWidget()
        self._handle: Any = None
        self._token: int | None = None
        self._lock = threading.RLock()  # the event thread and the kernel thread (after an action) both refresh
        self.settled = False

    def text(self) -> str:
        raise NotImplementedError

    def bundle(self, static: bool = False) -> dict[str, Any]:
        return _bundle(None if static else self.widget, self.widget.html, self.text())

    def settle(self) -> None:
        """Leave the static bundle in the display, as it is now, and stop following (the view ended, or a newer
        view of the same thing took over)."""
        with self._lock:
            if not self.settled and self._handle is not None:
                self._handle.update(self.bundle(static=True), raw=True)  # what the saved notebook keeps
            self.release()

    def release(self) -> None:
        """Stop following and close the widget; the display keeps its last bundle."""
        self.settled = True
        if self._token is not None:
            status_events.unsubscribe(self._token)
        _views.discard(self)
        _forget(self.key, self)
        self.widget.close()


class LiveJobView(_LiveDisplay):
    """The live view of one job (or subjob)."""

    def __init__(self, job: Any):
        super().__init__()
        self.impl = stripProxy(job)
        self.fqid = self.impl.getFQID(".")
        self.key = f"job {self.fqid}"
        self._subjob_prefix = self.fqid + "."
        self._history: deque[tuple[float, int]] = deque(maxlen=120)
        self._throttle = _Throttled(self.refresh)
        self._last_status = None
        self._process: dict[str, Any] = {}
        self.updated_at: list[tuple[str, float]] = []  # (status, time shown): what benchmarks and tests read
        self._batch_cpu = 0.0

    def cpu_seconds(self) -> float:
        """CPU time this view has cost: its renders and its share of the event batches."""
        return self._throttle.cpu_seconds + self._batch_cpu

    def timer_cpu_seconds(self) -> float:
        """The part of :meth:`cpu_seconds` spent outside the event stream's thread (delayed renders)."""
        return self._throttle.timer_cpu_seconds

    # ------------------------------------------------------------- display
    def show(self) -> None:
        from IPython.display import display

        self._token = status_events.subscribe(self._on_batch)  # before the first render: no change is missed
        with self._lock:
            self.refresh()
            if self._last_status in FINAL:
                display(self.bundle(static=True), raw=True)
                self.release()
                return
            self.widget = self.widget.widget()
            self.widget.observe(self._on_request, names="request")
            watch_job(self.impl)
            _views.add(self)
            self._handle = display(self.bundle(), raw=True, display_id=True)
        _take_over(self.key, self)

    def text(self) -> str:
        from IPython.lib.pretty import pretty

        return pretty(addProxy(self.impl))

    # ------------------------------------------------------------- updates
    def _on_batch(self, batch: Batch) -> None:
        started, rendered = time.thread_time(), self._throttle.cpu_seconds
        if self.fqid in batch:
            self._throttle.now()
        elif any(fqid.startswith(self._subjob_prefix) for fqid in batch):
            self._throttle.request()  # subjob changes: at most MAX_UPDATES_PER_SECOND renders
        self._batch_cpu += (time.thread_time() - started) - (self._throttle.cpu_seconds - rendered)

    def refresh(self) -> None:
        with self._lock:
            if not self.settled:
                self._refresh()

    def _refresh(self) -> None:
        try:
            status = self.impl.status
        except Exception:  # removed from another session
            self._gone()
            return
        record = records.job_record(self.impl, settings.option("stderr_tail_lines"))
        self.widget.html = render.job_card_html(record, self._live_info(status, record.row))
        self.widget.status = status
        self.widget.actions = self._actions(status)
        self.updated_at.append((status, time.time()))
        ended = self._last_status is not None and self._last_status not in FINAL and status in FINAL
        self._last_status = status
        if ended and self._handle is not None:
            self._ended(status)

    def _live_info(self, status: str, row: records.JobRow) -> dict[str, Any]:
        info: dict[str, Any] = {}
        if row.n_subjobs:
            done = sum(n for s, n in row.subjob_counts if s in FINAL)
            now = time.time()
            self._history.append((now, done))
            first_t, first_done = self._history[0]
            if now - first_t > 1 and done > first_done:
                rate = (done - first_done) / (now - first_t)
                info["rate"] = f"{rate:.2f} subjobs/s"
                if done < row.n_subjobs and status not in FINAL:
                    info["eta"] = format_duration((row.n_subjobs - done) / rate)
        if status == "running":
            info.update(self._process_stats())
        elif self._process:
            info.update(self._process)  # the last figures seen while it ran
        return info

    def _process_stats(self) -> dict[str, Any]:
        """CPU time and memory of a running Local job's processes (Local knows its PID)."""
        pid = getattr(self.impl.backend, "id", None)
        if self.impl.backend._name != "Local" or not isinstance(pid, int) or pid <= 0:
            return {}
        try:
            import psutil

            proc = psutil.Process(pid)
            procs = [proc] + proc.children(recursive=True)
            cpu = sum(p.cpu_times().user + p.cpu_times().system for p in procs)
            rss = sum(p.memory_info().rss for p in procs)
        except Exception:
            return self._process
        peak = max(rss, self._process.get("_rss", 0))
        self._process = {"cpu": format_duration(cpu), "memory": f"{peak / 2**20:.0f} MB (peak seen)", "_rss": peak}
        return self._process

    def _actions(self, status: str) -> list[str]:
        actions = []
        if status in ACTIVE:
            actions.append("kill")
        if status in ("failed", "killed"):
            actions.append("resubmit")
        actions += ["stdout", "stderr"]
        if status != "removed":
            actions.append("remove")
        return actions

    def _ended(self, status: str) -> None:
        when = time.strftime("%H:%M:%S")
        text = f"Job {self.fqid} {status} at {when}."
        self.widget.reply = {"text": text, "level": "success" if status == "completed" else "error", "id": when}
        self.widget.notice = {"title": f"Ganga job {self.fqid} {status}", "body": self.impl.name or text, "id": when}
        self.settle()

    def _gone(self) -> None:
        self.widget.status = "removed"
        self.widget.actions = []
        self.widget.html = render.notice_html(
            f"Job {self.fqid} no longer exists (it was removed, possibly from another Ganga session).", level="info"
        )
        if self._handle is not None:
            self._handle.update(
                {"text/html": self.widget.html, "text/plain": f"Job {self.fqid} no longer exists."}, raw=True
            )
        self.release()

    # ------------------------------------------------------------- actions (the kernel's own thread)
    def _on_request(self, change: dict[str, Any]) -> None:
        request = change["new"] or {}
        action = request.get("action")
        with self._lock:  # the reply is sent before a status change the action caused settles the view
            try:
                text, level = ACTIONS[action](self)
            except KeyError:
                text, level = f"Unknown action {action!r}.", "error"
            except Exception as err:  # a Ganga refusal is told in the view, never as a traceback
                text, level = f"{action} failed: {err}", "error"
            self.widget.reply = {"text": text, "level": level, "id": request.get("id")}
            if action == "remove" and level == "success":
                self._gone()
            else:
                self.refresh()

    def kill(self) -> tuple[str, str]:
        return job_actions.kill(addProxy(self.impl))

    def resubmit_failed(self) -> tuple[str, str]:
        return job_actions.resubmit_failed(addProxy(self.impl))

    def peek_file(self, name: str) -> tuple[str, str]:
        target = self.impl
        if len(self.impl.subjobs):
            candidates = [sj for sj in self.impl.subjobs if sj.status == "running"] or [
                sj for sj in self.impl.subjobs if sj.status in ("failed", "killed")
            ] or list(self.impl.subjobs)
            target = candidates[0]
        path = records.job_file(target, name)
        if not os.path.isfile(path):
            self.widget.peek = ""
            return f"{name} of job {target.getFQID('.')} does not exist yet (the job is {target.status}).", "info"
        self.widget.peek = tail(path, PEEK_LINES)
        return f"Last {PEEK_LINES} lines of {name} of job {target.getFQID('.')}, read at {time.strftime('%H:%M:%S')}.", "info"

    def remove(self) -> tuple[str, str]:
        return job_actions.remove(addProxy(self.impl))


ACTIONS = {
    "kill": LiveJobView.kill,
    "resubmit": LiveJobView.resubmit_failed,
    "stdout": lambda view: view.peek_file("stdout"),
    "stderr": lambda view: view.peek_file("stderr"),
    "remove": LiveJobView.remove,
}


class LiveSliceView(_LiveDisplay):
    """A live table of a job slice: statuses and counts follow the event stream while any of its jobs is active."""

    def __init__(self, job_slice: Any):
        super().__init__()
        self.impl = stripProxy(job_slice)
        self.proxy = job_slice
        self._throttle = _Throttled(self.refresh)
        self._active = False

    def show(self) -> None:
        from IPython.display import display

        self._token = status_events.subscribe(self._on_batch)
        with self._lock:
            self.refresh()
            if not self._active:
                display(self.bundle(static=True), raw=True)
                self.release()
                return
            self.widget = self.widget.widget()
            self._handle = display(self.bundle(), raw=True, display_id=True)
        _take_over(self.key, self)

    def text(self) -> str:
        from IPython.lib.pretty import pretty

        return pretty(self.proxy)

    def _on_batch(self, batch: Batch) -> None:
        self._throttle.request()

    def refresh(self) -> None:
        with self._lock:
            if self.settled:
                return
            page = records.slice_page(self.impl, settings.option("page_size"))
            self.key = f"slice {page.title}"
            self.widget.html = render.job_slice_html(self.impl, settings.option("page_size"), page=page)
            self.widget.status = ",".join(f"{n} {s}" for s, n in page.status_counts)
            self._active = any(s in ACTIVE for s, _ in page.status_counts)
            if self._handle is not None and not self._active:
                self.settle()  # everything ended
