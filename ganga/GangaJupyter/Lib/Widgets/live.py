"""Live views of jobs and job slices: anywidget models updated from the status event stream.

A view is displayed once, from the cell that asked for it, as one bundle: the widget, plus the static HTML and
Ganga's text for front ends without widgets and for the saved notebook (updated when a job ends). Status
changes reach a view on the event stream's thread, at most ``MAX_UPDATES_PER_SECOND`` renders per view;
actions (kill, resubmit, peek, remove) arrive as widget messages on the kernel's own thread.
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
from ..statuses import ACTIVE

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


def _bundle(widget: JobWidget, html: str, text: str) -> dict[str, Any]:
    """The widget for front ends with widgets, the static HTML and Ganga's text for everything else."""
    view = widget._repr_mimebundle_()
    data = dict(view[0] if isinstance(view, tuple) else view)
    data.update({"text/html": html, "text/plain": text})
    return data


_views: "weakref.WeakSet[Any]" = weakref.WeakSet()


def live_views() -> list[Any]:
    """The live views of this kernel (for benchmarks and tests)."""
    return list(_views)


class LiveJobView:
    """The live view of one job (or subjob)."""

    def __init__(self, job: Any):
        self.impl = stripProxy(job)
        self.fqid = self.impl.getFQID(".")
        self._subjob_prefix = self.fqid + "."
        self.widget = JobWidget()
        self.widget.observe(self._on_request, names="request")
        self._history: deque[tuple[float, int]] = deque(maxlen=120)
        self._throttle = _Throttled(self.refresh)
        self._handle = None
        self._last_status = None
        self._process: dict[str, Any] = {}
        self._refreshing = threading.Lock()  # the event thread and the kernel thread (after an action) both refresh
        self.updated_at: list[tuple[str, float]] = []  # (status, time shown): what benchmarks and tests read
        self._batch_cpu = 0.0
        self.refresh()
        self._token = status_events.subscribe(self._on_batch)
        watch_job(self.impl)
        _views.add(self)

    def cpu_seconds(self) -> float:
        """CPU time this view has cost: its renders and its share of the event batches."""
        return self._throttle.cpu_seconds + self._batch_cpu

    def timer_cpu_seconds(self) -> float:
        """The part of :meth:`cpu_seconds` spent outside the event stream's thread (delayed renders)."""
        return self._throttle.timer_cpu_seconds

    # ------------------------------------------------------------- display
    def show(self) -> None:
        from IPython.display import display

        self._handle = display(self.bundle(), raw=True, display_id=True)

    def bundle(self) -> dict[str, Any]:
        from IPython.lib.pretty import pretty

        return _bundle(self.widget, self.widget.html, pretty(addProxy(self.impl)))

    # ------------------------------------------------------------- updates
    def _on_batch(self, batch: Batch) -> None:
        started, rendered = time.thread_time(), self._throttle.cpu_seconds
        if self.fqid in batch:
            self._throttle.now()
        elif any(fqid.startswith(self._subjob_prefix) for fqid in batch):
            self._throttle.request()  # subjob changes: at most MAX_UPDATES_PER_SECOND renders
        self._batch_cpu += (time.thread_time() - started) - (self._throttle.cpu_seconds - rendered)

    def refresh(self) -> None:
        with self._refreshing:
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
        if self._last_status is not None and self._last_status not in FINAL and status in FINAL:
            self._ended(status)
        self._last_status = status

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
                    info["eta"] = records.format_duration((row.n_subjobs - done) / rate)
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
        self._process = {"cpu": records.format_duration(cpu), "memory": f"{peak / 2**20:.0f} MB (peak seen)", "_rss": peak}
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
        if self._handle is not None:
            self._handle.update(self.bundle(), raw=True)  # the saved notebook keeps the final state

    def _gone(self) -> None:
        self.widget.status = "removed"
        self.widget.actions = []
        self.widget.html = render.notice_html(
            f"Job {self.fqid} no longer exists (it was removed, possibly from another Ganga session).", level="info"
        )
        status_events.unsubscribe(self._token)

    # ------------------------------------------------------------- actions (the kernel's own thread)
    def _on_request(self, change: dict[str, Any]) -> None:
        request = change["new"] or {}
        action = request.get("action")
        try:
            text, level = ACTIONS[action](self)
        except KeyError:
            text, level = f"Unknown action {action!r}.", "error"
        except Exception as err:  # a Ganga refusal is told in the view, never as a traceback
            text, level = f"{action} failed: {err}", "error"
        self.widget.reply = {"text": text, "level": level, "id": request.get("id")}
        if action != "remove":
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
        self.widget.peek = records.tail(path, PEEK_LINES)
        return f"Last {PEEK_LINES} lines of {name} of job {target.getFQID('.')}, read at {time.strftime('%H:%M:%S')}.", "info"

    def remove(self) -> tuple[str, str]:
        reply = job_actions.remove(addProxy(self.impl))
        self._gone()
        return reply


ACTIONS = {
    "kill": LiveJobView.kill,
    "resubmit": LiveJobView.resubmit_failed,
    "stdout": lambda view: view.peek_file("stdout"),
    "stderr": lambda view: view.peek_file("stderr"),
    "remove": LiveJobView.remove,
}


class LiveSliceView:
    """A live table of a job slice: statuses and counts follow the event stream."""

    def __init__(self, job_slice: Any):
        self.impl = stripProxy(job_slice)
        self.proxy = job_slice
        self.widget = JobWidget()
        self._throttle = _Throttled(self.refresh)
        self._handle = None
        self._static_html = ""
        self.refresh()
        self._static_html = self.widget.html
        self._token = status_events.subscribe(self._on_batch)

    def show(self) -> None:
        from IPython.display import display

        self._handle = display(self.bundle(), raw=True, display_id=True)

    def bundle(self) -> dict[str, Any]:
        from IPython.lib.pretty import pretty

        return _bundle(self.widget, self.widget.html, pretty(self.proxy))

    def _on_batch(self, batch: Batch) -> None:
        self._throttle.request()

    def refresh(self) -> None:
        page = records.slice_page(self.impl, settings.option("page_size"))
        self.widget.html = render.job_slice_html(self.impl, settings.option("page_size"), page=page)
        self.widget.status = ",".join(f"{n} {s}" for s, n in page.status_counts)
        settled = not any(s in ACTIVE for s, _ in page.status_counts)
        if self._handle is not None and settled and self.widget.html != self._static_html:
            self._static_html = self.widget.html
            self._handle.update(self.bundle(), raw=True)  # once everything has ended, the saved notebook has it
