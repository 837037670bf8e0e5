"""Live views of jobs and job slices: anywidget models updated from the event stream.

A view is displayed once, from the cell that asked for it, as one bundle: the widget, plus the static HTML and
Ganga's text for front ends without widgets. Once nothing in it can change by itself (its job finished, or no job
of the slice is active), the view is no longer needed: its display becomes the static bundle alone, and the widget
closes. So a saved, executed or exported notebook shows the same card everywhere (JupyterLab without saved
widget state, nbconvert's HTML offline, GitHub), with no widget renderer to fetch. A job or slice that is
already settled is displayed static at once.

A view follows the stream from its display until it settles, and no longer: when its job ends, when a newer view
of the same job or slice is displayed, or when its widget closes, whichever side closes it (the kernel, or the
front end closing the widget's comm). Changes reach a view on the event stream's thread, only those about what it
shows, at most ``throttle.MAX_UPDATES_PER_SECOND`` renders per view; actions (kill, peek, ...) arrive as widget
messages on the kernel's own thread. While a split job is active its view is also redrawn every
``TICK_SECONDS`` through the same throttle, so the timeline's time axis and running bars keep up with the clock
when no subjob changes.
"""
from __future__ import annotations

import os
import re
import threading
import time
from collections import deque
from itertools import chain
from pathlib import Path
from typing import Any, Callable

import anywidget
import traitlets
from GangaCore.Core.GangaRepository.Registry import Registry
from GangaCore.GPIDev.Base.Proxy import addProxy, stripProxy

from .. import settings
from ..Backends import adapter_for
from ..Core.actions import RESUBMITTABLE, ActionResult
from ..Core.job_files import tail
from ..Core.statuses import ACTIVE, FINAL, LIFECYCLE
from ..Core.text import format_duration, shorten
from ..Display import records, render
from ..Display.slice_text import slice_text
from ..Monitor import watch_job
from ..Monitor.events import EventBatch, status_events
from ..Session import actions as job_actions
from ..Session.sharing import read_latest
from .throttle import Throttle

PEEK_LINES = 200
PEEKS = ("stdout", "stderr")
#: The action of a subjob's link in the card (the slowest subjobs): that subjob's card in the view's detail area.
SUBJOB = "subjob"
SUBJOB_LINK = "#gangajupyter-subjob="  # what job_view.js recognises in a link's href
#: While a split job is active, its view is redrawn at least this often (through the throttle, so within its CPU
#: budget): the timeline is drawn up to now.
TICK_SECONDS = 10.0
#: How many renders a job view remembers in ``updated_at`` (status, time shown), for a look at a view from its
#: kernel; bounded, as a view of a long flood of subjob changes renders for as long as it lasts.
UPDATES_KEPT = 1000


class JobWidget(anywidget.AnyWidget):
    """The browser side of a live job or slice view (``job_view.js``, styled by ``job_view.css``)."""

    _esm = Path(__file__).with_name("job_view.js")
    _css = Path(__file__).with_name("job_view.css")
    html = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    actions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    request = traitlets.Dict().tag(sync=True)
    reply = traitlets.Dict().tag(sync=True)
    peek = traitlets.Unicode("").tag(sync=True)
    detail = traitlets.Unicode("").tag(sync=True)  # a subjob's card, asked for with its link in the card
    notifications = traitlets.Bool(False).tag(sync=True)
    notice = traitlets.Dict().tag(sync=True)

    @traitlets.observe("comm")
    def _close_with_comm(self, change: dict[str, Any]) -> None:
        """A comm the front end closes leaves an ipywidgets 8 widget open on a dead comm: close the widget then
        too, so that a widget closed from either side ends the same way, with its ``comm`` set to None."""
        if change["new"] is not None:
            change["new"].on_close(lambda _msg: self.close())

    def close(self) -> None:
        """Close the widget and its ``layout``: every DOMWidget makes a Layout widget, with a comm of its own,
        which ipywidgets leaves open when the widget closes (a view displayed in a loop would leak one each)."""
        layout = self.layout
        super().close()
        layout.close()


class _NoWidget:
    """A view's state before it shows a widget: a view settled when displayed never opens one (no comm, no
    widget state in the notebook)."""

    def __init__(self) -> None:
        self.html, self.status, self.peek, self.detail = "", "", "", ""
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


_live: dict[str, Any] = {}  # what a live view shows ("job 3", "slice jobs") -> that view: one live view each
_live_lock = threading.Lock()


def live_views() -> list[Any]:
    """The live views of this kernel, jobs' and slices' (for benchmarks and tests)."""
    with _live_lock:
        return list(_live.values())


def _take_over(view: _LiveDisplay) -> None:
    """``view`` is now the live view of its key: the one shown before (a re-run cell, a display in a loop) stops
    following and keeps its last card, so views never pile up."""
    with _live_lock:
        if view.settled:  # it ended while it was being displayed
            return
        previous, _live[view.key] = _live.get(view.key), view
    if previous is not None and previous is not view:
        previous.settle()


def _forget(view: _LiveDisplay) -> None:
    with _live_lock:
        if _live.get(view.key) is view:
            del _live[view.key]


class _LiveDisplay:
    """What job and slice views share: one display, following the event stream until it settles."""

    def __init__(self, key: str) -> None:
        self.key = key  # what it shows ("job 3", "slice jobs"): one live view each
        self.widget: JobWidget | _NoWidget = _NoWidget()
        self._handle: Any = None
        self._token: int | None = None
        self._lock = threading.RLock()  # the event thread, the kernel thread and the throttle's timer all refresh
        self._throttle = Throttle(self.refresh)
        self.settled = False

    def text(self) -> str:
        raise NotImplementedError

    def refresh(self) -> None:
        raise NotImplementedError

    def _on_batch(self, batch: EventBatch) -> None:
        raise NotImplementedError

    def _can_change(self) -> bool:
        """Whether anything in the view can still change by itself (after a refresh)."""
        raise NotImplementedError

    def _opened(self) -> None:
        """What a view does once its widget exists (before it is displayed)."""

    def bundle(self, static: bool = False) -> dict[str, Any]:
        return _bundle(None if static else self.widget, self.widget.html, self.text())

    def show(self) -> None:
        """Display the view: static at once when it has already settled, else the widget, followed."""
        from IPython.display import display

        self._token = status_events.subscribe(self._on_batch)  # before the first render: no change is missed
        with self._lock:
            self.refresh()
            if not self._can_change():
                display(self.bundle(static=True), raw=True)
                self.release()
                return
            self.widget = self.widget.widget()
            self.widget.observe(self._on_widget_comm, names="comm")
            self._opened()
            self._handle = display(self.bundle(), raw=True, display_id=True)
        _take_over(self)

    def _on_widget_comm(self, change: dict[str, Any]) -> None:
        if change["new"] is None:  # the widget closed (see JobWidget._close_with_comm)
            self.settle()

    def settle(self) -> None:
        """Leave the static bundle in the display, as it is now, and stop following (the view ended, a newer
        view of the same thing took over, or its widget closed)."""
        with self._lock:
            if self.settled:
                return
            if self._handle is not None:
                self._handle.update(self.bundle(static=True), raw=True)  # what the saved notebook keeps
            self.release()

    def release(self) -> None:
        """Stop following and close the widget; the display keeps its last bundle."""
        with self._lock:
            if self.settled:
                return
            self.settled = True
        self._throttle.stop()
        if self._token is not None:
            status_events.unsubscribe(self._token)
        _forget(self)
        self.widget.close()  # observed by _on_widget_comm, which finds the view settled


class LiveJobView(_LiveDisplay):
    """The live view of one job (or subjob)."""

    def __init__(self, job: Any):
        self.impl = stripProxy(job)
        self.fqid = self.impl.getFQID(".")
        super().__init__(f"job {self.fqid}")
        self._subjob_prefix = self.fqid + "."
        self._history: deque[tuple[float, int]] = deque(maxlen=120)
        self._last_status: str | None = None
        self._process: dict[str, str] = {}  # the last figures of its processes seen while it ran
        self._peak_rss = 0.0
        self.updated_at: deque[tuple[str, float]] = deque(maxlen=UPDATES_KEPT)  # (status, time shown)
        self._batch_cpu = 0.0
        self._tick: threading.Timer | None = None
        self._told: deque[str] = deque(maxlen=8)  # statuses the event stream told, not yet shown

    def cpu_seconds(self) -> float:
        """CPU time this view has cost: its renders and its share of the event batches."""
        return self._throttle.cpu_seconds + self._batch_cpu

    def timer_cpu_seconds(self) -> float:
        """The part of :meth:`cpu_seconds` spent outside the event stream's thread (delayed renders)."""
        return self._throttle.timer_cpu_seconds

    # ------------------------------------------------------------- display
    def show(self) -> None:
        read_latest(self.impl)
        super().show()

    def _can_change(self) -> bool:
        return self._last_status not in FINAL

    def _opened(self) -> None:
        self.widget.observe(self._on_request, names="request")
        watch_job(self.impl)

    def text(self) -> str:
        from IPython.lib.pretty import pretty

        return pretty(addProxy(self.impl))

    # ------------------------------------------------------------- updates
    def _on_batch(self, batch: EventBatch) -> None:
        started, rendered = time.thread_time(), self._throttle.cpu_seconds
        records_changed = getattr(batch, "records", ())
        if self.fqid in batch or self.fqid in records_changed:
            if self.fqid in batch:
                self._told.extend([*batch.passed.get(self.fqid, ()), batch[self.fqid][0]])
            self._throttle.now()
        elif any(fqid.startswith(self._subjob_prefix) for fqid in chain(batch, records_changed)):
            self._throttle.request()  # subjob changes: at most MAX_UPDATES_PER_SECOND renders
        self._batch_cpu += (time.thread_time() - started) - (self._throttle.cpu_seconds - rendered)

    def refresh(self) -> None:
        with self._lock:
            if not self.settled:
                self._refresh()

    def _refresh(self) -> None:
        told = []  # taken before the status is read: what a batch adds meanwhile is for the next render
        while self._told:
            told.append(self._told.popleft())
        try:
            status = self.impl.status
        except Exception:  # removed from another session
            self._gone()
            return
        record = records.job_record(self.impl, settings.option("stderr_tail_lines"))
        self._show_passed_statuses(told, status)
        self.widget.html = render.job_card_html(record, self._live_info(status, record.row), _subjob_link)
        self.widget.status = status
        self.widget.actions = self._actions(status)
        self.updated_at.append((status, time.time()))
        if record.runs and status in ACTIVE:
            self._tick_later()
        ended = self._last_status is not None and self._last_status not in FINAL and status in FINAL
        self._last_status = status
        if ended and self._handle is not None:
            self._ended(status)

    def _show_passed_statuses(self, told: list[str], status: str) -> None:
        """The statuses the job passed through since the last render, each sent to the front end in order before
        the one it has now: a render waits for the job's lock (held by ``submit()``, say), and by then the job
        may be ``running``; its view still shows it was ``submitted``."""
        shown = self.widget.status
        for passed in told:
            if passed != shown and passed in ACTIVE and _comes_before(passed, status):
                self.widget.status = shown = passed

    def _tick_later(self) -> None:
        """Ask for a render ``TICK_SECONDS`` from now, unless one is already asked for (a view that has settled
        has stopped its throttle, which then ignores the request)."""
        if self._tick is None:
            self._tick = threading.Timer(TICK_SECONDS, self._on_tick)
            self._tick.daemon = True
            self._tick.start()

    def _on_tick(self) -> None:
        self._tick = None  # first: the render it asks for may run here, and asks for the next tick
        self._throttle.request()

    def release(self) -> None:
        super().release()
        if self._tick is not None:
            self._tick.cancel()

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
            self._read_process_figures()
        info.update(self._process)  # while it runs, and the last figures seen once it has stopped
        return info

    def _read_process_figures(self) -> None:
        """CPU time and peak memory of the running job's processes, as far as its backend knows them."""
        figures = adapter_for(self.impl).live_figures(self.impl)
        if not figures:
            return  # unknown now: keep the last figures seen
        if "cpu_seconds" in figures:
            self._process["cpu"] = format_duration(figures["cpu_seconds"])
        if "rss_bytes" in figures:
            self._peak_rss = max(self._peak_rss, figures["rss_bytes"])
            self._process["memory"] = f"{self._peak_rss / 2**20:.0f} MB (peak seen)"

    def _actions(self, status: str) -> list[str]:
        actions = []
        if status in ACTIVE:
            actions.append("kill")
        if status in RESUBMITTABLE:
            actions.append("resubmit")
        actions += PEEKS
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
            result = self.perform(action, request.get("fqid"))
            self.widget.reply = {"text": result.message, "level": result.level, "id": request.get("id")}
            if action == "remove" and result.ok:
                self._gone()
            else:
                self.refresh()

    def perform(self, action: Any, fqid: Any = None) -> ActionResult:
        """A button's action on this view's job: one of the job actions, or a peek at its stdout or stderr; or a
        subjob link's: the card of subjob ``fqid``."""
        try:
            if action in PEEKS:
                return self.peek_file(action)
            if action == SUBJOB:
                return self.show_subjob(fqid)
            if action in job_actions.PERFORM:
                return job_actions.PERFORM[action](addProxy(self.impl))
        except Exception as err:  # a Ganga refusal is told in the view, never as a traceback
            return ActionResult.error(f"{action} failed: {adapter_for(self.impl).explain(err)}")
        return ActionResult.error(f"Unknown action {action!r}.")

    def show_subjob(self, fqid: Any) -> ActionResult:
        """Put the card of subjob ``fqid`` of this view's job (as the front end sent it: checked) in the detail
        area."""
        prefix = self._subjob_prefix
        index = fqid[len(prefix) :] if isinstance(fqid, str) and fqid.startswith(prefix) else ""
        if not (index.isascii() and index.isdigit() and len(index) < 10 and int(index) < len(self.impl.subjobs)):
            return ActionResult.error(f"Job {self.fqid} has no subjob {shorten(str(fqid), 40)!r}.")
        subjob = self.impl.subjobs[int(index)]
        self.widget.detail = render.job_card_html(records.job_record(subjob, settings.option("stderr_tail_lines")))
        return ActionResult.info(f"Subjob {subjob.getFQID('.')} as it was at {time.strftime('%H:%M:%S')}.")

    def peek_file(self, name: str) -> ActionResult:
        target = self.impl
        if len(self.impl.subjobs):
            candidates = [sj for sj in self.impl.subjobs if sj.status == "running"] or [
                sj for sj in self.impl.subjobs if sj.status in RESUBMITTABLE
            ] or list(self.impl.subjobs)
            target = candidates[0]
        path = records.job_file(target, name)
        if not os.path.isfile(path):
            self.widget.peek = ""
            return ActionResult.info(f"{name} of job {target.getFQID('.')} does not exist yet (the job is {target.status}).")
        self.widget.peek = tail(path, PEEK_LINES)
        return ActionResult.info(
            f"Last {PEEK_LINES} lines of {name} of job {target.getFQID('.')}, read at {time.strftime('%H:%M:%S')}."
        )


def _comes_before(earlier: str, later: str) -> bool:
    return earlier in LIFECYCLE and later in LIFECYCLE and LIFECYCLE.index(earlier) < LIFECYCLE.index(later)


def _subjob_link(fqid: str) -> str:
    return SUBJOB_LINK + fqid


_SUBJOBS_OF = re.compile(r"jobs\((\d+)\)\.subjobs")  # the names Ganga gives j.subjobs and the slices made from it


def _concerns(slice_impl: Any) -> Callable[[str], bool]:
    """Which job changes can change what a view of the slice shows: those of a job it holds, or of a subjob of one
    (its row counts them). The whole ``jobs`` registry holds any job, including jobs made after it was displayed;
    ``j.subjobs`` every subjob of ``j``; any other slice (a ``select``, a range, a named slice) its own jobs."""
    objects = slice_impl.objects
    if isinstance(objects, Registry):
        return lambda fqid: True
    master = _SUBJOBS_OF.match(slice_impl.name)
    prefix = f"{master.group(1)}." if master else ""  # subjob slices are keyed by subjob id, the others by fqid
    if master and slice_impl.name == master.group(0):
        return lambda fqid: fqid.startswith(prefix)
    held = frozenset(prefix + str(key) for key in objects.keys())
    return lambda fqid: fqid in held or fqid.rpartition(".")[0] in held


class LiveSliceView(_LiveDisplay):
    """A live table of a job slice: statuses and counts follow the event stream while any of its jobs is active."""

    def __init__(self, job_slice: Any):
        self.impl = stripProxy(job_slice)
        self.proxy = job_slice
        super().__init__(f"slice {self.impl.name}")
        self._concerns = _concerns(self.impl)
        self._active = False

    def _can_change(self) -> bool:
        return self._active

    def text(self) -> str:
        return slice_text(self.impl, settings.option("page_size"))

    def _on_batch(self, batch: EventBatch) -> None:
        if any(self._concerns(fqid) for fqid in batch):
            self._throttle.request()

    def refresh(self) -> None:
        with self._lock:
            if self.settled:
                return
            page = records.slice_page(self.impl, settings.option("page_size"))
            self.widget.html = render.job_slice_html(self.impl, settings.option("page_size"), page=page)
            self.widget.status = ",".join(f"{n} {s}" for s, n in page.status_counts)
            self._active = any(s in ACTIVE for s, _ in page.status_counts)
            if self._handle is not None and not self._active:
                self.settle()  # everything ended
