"""Rendering at a bounded rate and CPU cost, whatever the rate of the changes that ask for it."""
from __future__ import annotations

import threading
import time
from typing import Callable

from GangaCore.Utility.logging import getLogger

logger = getLogger()

MAX_UPDATES_PER_SECOND = 2.0
RENDER_CPU_BUDGET = 0.015  # fraction of a core one view may spend rendering subjob changes


class Throttle:
    """Call ``render`` at most ``max_per_second`` times a second, and within a CPU budget: the pause between two
    renders is at least ``1 / cpu_budget`` times what the last one cost (a view of a 10,000-subjob job renders
    less often than one of a 10-subjob job). A request inside the pause renders once, at its end, on a timer
    thread. A failing render is logged at debug level and changes nothing else."""

    def __init__(
        self,
        render: Callable[[], None],
        max_per_second: float = MAX_UPDATES_PER_SECOND,
        cpu_budget: float = RENDER_CPU_BUDGET,
    ) -> None:
        self._render = render
        self._min_pause = 1.0 / max_per_second
        self._cpu_budget = cpu_budget
        self._lock = threading.Lock()
        self._last = float("-inf")  # monotonic time of the last render
        self._last_cost = 0.0
        self._timer: threading.Timer | None = None
        self._stopped = False
        self.renders = 0
        self.cpu_seconds = 0.0  # CPU time spent rendering, whatever thread did it
        self.timer_cpu_seconds = 0.0  # the part spent on timer threads (not the caller's thread)

    def pause(self) -> float:
        """The shortest time between two renders now."""
        return max(self._min_pause, self._last_cost / self._cpu_budget)

    def now(self) -> None:
        """Render at once (a change of the job's own status: a handful per job, never a flood)."""
        with self._lock:
            if self._stopped:
                return
            self._last = time.monotonic()
        self._run()

    def request(self) -> None:
        """Render now, or at the end of the current pause if one is running (once however often asked)."""
        with self._lock:
            if self._stopped or self._timer is not None:  # a pending render will show this change too
                return
            wait = self._last + self.pause() - time.monotonic()
            if wait > 0:
                self._timer = threading.Timer(wait, self._fire)
                self._timer.daemon = True
                self._timer.start()
                return
            self._last = time.monotonic()
        self._run()

    def stop(self) -> None:
        """Render no more: cancel a pending render and ignore later requests (its view has closed)."""
        with self._lock:
            self._stopped = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            if self._stopped:
                return
            self._last = time.monotonic()
        cost = self._run()
        with self._lock:
            self.timer_cpu_seconds += cost

    def _run(self) -> float:
        started = time.thread_time()
        try:
            self._render()
        except Exception:
            logger.debug("GangaJupyter live view render failed", exc_info=True)
        cost = time.thread_time() - started
        with self._lock:
            self.renders += 1
            self._last_cost = cost
            self.cpu_seconds += cost
        return cost
