"""The per-kernel stream of job status changes: coalesced per job, delivered in batches by one thread.

Ganga changes job statuses on its monitoring threads. The hook only records ``fqid -> status`` under a lock
(cheap, never blocking Ganga); a single dispatcher thread hands subscribers at most one batch per
``window`` seconds, with only the latest status of each job, so a 10,000-subjob job cannot flood the views.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from GangaCore.Utility.logging import getLogger

logger = getLogger()

#: fqid -> (status, time the change was seen)
Batch = dict[str, tuple[str, float]]
Subscriber = Callable[[Batch], None]


class StatusEvents:
    def __init__(self, window: float = 0.05):
        self.window = window
        self._pending: Batch = {}
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
            self._pending[fqid] = (status, time.time())
            self.published += 1
        self._wake.set()

    def subscribe(self, callback: Subscriber) -> int:
        """Call ``callback(batch)`` on the dispatcher thread for every batch; returns a token for unsubscribe."""
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
            time.sleep(self.window)  # let a burst of changes collapse into one batch
            with self._lock:
                self._wake.clear()
                batch, self._pending = self._pending, {}
                subscribers = list(self._subscribers.values())
            if not batch:
                continue
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
