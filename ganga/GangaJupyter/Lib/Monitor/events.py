"""The per-kernel stream of job changes: coalesced per job, delivered in batches by one thread.

Two kinds of change: a job's status (Ganga changes it on its monitoring threads; the hook records
``fqid -> status``), and its scheduler record (what the batch system says about it, see
:mod:`..Core.scheduler_record`: a reason, accounting figures), published by the backend's adapter with no status
change. Publishing only records the change under a lock (cheap, never blocking Ganga); a single dispatcher
thread hands subscribers at most one :class:`EventBatch` per ``window`` seconds, with only the latest status of
each job, so a 10,000-subjob job cannot flood the views.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Iterable

from GangaCore.Utility.logging import getLogger

logger = getLogger()


class EventBatch(dict[str, tuple[str, float]]):
    """``fqid -> (status, time the change was seen)`` for the status changes, :attr:`records`: the fqids whose
    scheduler record changed, and :attr:`foreign`: the fqids whose change another Ganga session on this gangadir
    made (it holds the job; this session read the change from its journal), and :attr:`passed`: for a job whose
    status changed more than once in the batch's window, the statuses it passed through before its last, in
    order (a view shows them too). A batch may hold records and no status change."""

    def __init__(
        self,
        statuses: dict[str, tuple[str, float]] | None = None,
        records: Iterable[str] = (),
        foreign: Iterable[str] = (),
        passed: dict[str, list[str]] | None = None,
    ):
        super().__init__(statuses or {})
        self.records: frozenset[str] = frozenset(records)
        self.foreign: frozenset[str] = frozenset(foreign)
        self.passed: dict[str, list[str]] = passed or {}

    def local(self) -> dict[str, tuple[str, float]]:
        """The status changes this session made."""
        return {fqid: change for fqid, change in self.items() if fqid not in self.foreign}


Subscriber = Callable[[EventBatch], None]
PASSED_KEPT = 8  # statuses kept per job and batch that it passed through (a job changes a handful of times)


class StatusEvents:
    def __init__(self, window: float = 0.05, foreign_window: float = 0.005):
        self.window = window
        #: other sessions' changes come read together from their journals, a burst already collapsed there
        self.foreign_window = foreign_window
        self._pending: dict[str, tuple[str, float]] = {}
        self._pending_records: set[str] = set()
        self._pending_foreign: set[str] = set()
        self._pending_passed: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._subscribers: dict[int, Subscriber] = {}
        self._next_token = 0
        self._thread: threading.Thread | None = None
        self.published = 0
        self.delivered_batches = 0
        self.dispatch_cpu_seconds = 0.0  # CPU time of the dispatcher thread (including the subscribers' work)

    def publish(self, fqid: str, status: str) -> None:
        """Record a status change (any thread; returns at once)."""
        with self._lock:
            before = self._pending.get(fqid)
            if before is not None and before[0] != status and fqid not in self._pending_foreign:
                passed = self._pending_passed.setdefault(fqid, [])
                if len(passed) < PASSED_KEPT:
                    passed.append(before[0])
            self._pending[fqid] = (status, time.time())
            self._pending_foreign.discard(fqid)
            self.published += 1
        self._wake.set()

    def publish_foreign(self, fqid: str, status: str, when: float) -> None:
        """Record a status change another session made, at ``when`` (its time), read from its journal."""
        with self._lock:
            if fqid in self._pending and fqid not in self._pending_foreign:
                return  # this session's own change of the job is newer news
            self._pending[fqid] = (status, when)
            self._pending_foreign.add(fqid)
            self.published += 1
        self._wake.set()

    def publish_record(self, fqid: str) -> None:
        """Record that the scheduler record of a job changed (any thread; returns at once)."""
        with self._lock:
            self._pending_records.add(fqid)
            self.published += 1
        self._wake.set()

    def subscribe(self, callback: Subscriber) -> int:
        """Call ``callback(batch)`` (an :class:`EventBatch`) on the dispatcher thread for every batch; returns a token
        for unsubscribe."""
        with self._lock:
            self._next_token += 1
            self._subscribers[self._next_token] = callback
            self._start()
            return self._next_token

    def unsubscribe(self, token: int) -> None:
        with self._lock:
            self._subscribers.pop(token, None)

    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="GangaJupyter-status-events", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                foreign = not self._pending_records and self._pending_foreign.issuperset(self._pending)
            time.sleep(self.foreign_window if foreign else self.window)  # let a burst collapse into one batch
            with self._lock:
                self._wake.clear()
                if not self._pending and not self._pending_records:
                    continue
                batch = EventBatch(self._pending, self._pending_records, self._pending_foreign, self._pending_passed)
                self._pending, self._pending_records, self._pending_foreign, self._pending_passed = {}, set(), set(), {}
                subscribers = list(self._subscribers.values())
            started = time.thread_time()
            self.delivered_batches += 1
            for callback in subscribers:
                try:
                    callback(batch)
                except Exception:  # one broken view must not stop the others
                    logger.debug("GangaJupyter status subscriber failed", exc_info=True)
            self.dispatch_cpu_seconds += time.thread_time() - started


#: The stream of this process (one kernel, one Ganga session).
status_events = StatusEvents()
