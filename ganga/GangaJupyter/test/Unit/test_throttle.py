"""A live view's throttle: a bounded render rate and CPU share, whatever the rate of the changes, and nothing lost:
a change inside a pause renders once, at its end. Real threads and real time, with short pauses."""
from __future__ import annotations

import threading
import time

from GangaJupyter.Lib.Widgets.throttle import Throttle


class Recorder:
    """A render that notes when it ran, optionally burning CPU or failing first."""

    def __init__(self, cpu: float = 0.0, failures: int = 0) -> None:
        self.cpu = cpu
        self.failures = failures
        self.times: list[float] = []
        self.ended: list[float] = []
        self.threads: list[str] = []

    def __call__(self) -> None:
        self.times.append(time.monotonic())
        self.threads.append(threading.current_thread().name)
        started = time.thread_time()
        while time.thread_time() - started < self.cpu:
            pass
        self.ended.append(time.monotonic())
        if self.failures:
            self.failures -= 1
            raise RuntimeError("render failed")


def wait_renders(recorder: Recorder, n: int, timeout: float = 2.0) -> None:
    """Until ``n`` renders have ended."""
    deadline = time.monotonic() + timeout
    while len(recorder.ended) < n and time.monotonic() < deadline:
        time.sleep(0.005)


def test_requests_in_a_flood_render_at_most_max_per_second() -> None:
    render = Recorder()
    throttle = Throttle(render, max_per_second=20)
    started = time.monotonic()
    while time.monotonic() - started < 0.5:
        throttle.request()
        time.sleep(0.001)
    time.sleep(0.1)  # the render at the end of the last pause
    throttle.stop()
    gaps = [b - a for a, b in zip(render.times, render.times[1:])]
    assert 5 <= len(render.times) <= 12, render.times  # 0.5 s at 20 a second, plus the first
    assert min(gaps) >= 0.045, gaps  # 1/20 s apart, less the timer's jitter


def test_a_request_inside_the_pause_renders_once_at_its_end() -> None:
    render = Recorder()
    throttle = Throttle(render, max_per_second=5)  # 0.2 s pause
    throttle.request()
    assert len(render.times) == 1  # the first request renders at once, on the caller's thread
    for _ in range(50):
        throttle.request()
    assert len(render.times) == 1
    wait_renders(render, 2)
    time.sleep(0.3)
    assert len(render.times) == 2, "the requests inside the pause rendered more or less than once"
    assert 0.18 <= render.times[1] - render.times[0] <= 0.6  # at the end of the pause (a loaded machine is late)
    assert render.threads[0] == threading.current_thread().name and render.threads[1] != render.threads[0]
    assert throttle.timer_cpu_seconds <= throttle.cpu_seconds


def test_an_expensive_render_spaces_the_next_one_by_its_cpu_budget() -> None:
    render = Recorder(cpu=0.02)
    throttle = Throttle(render, max_per_second=1000, cpu_budget=0.1)  # 20 ms of CPU -> at least 0.2 s apart
    throttle.request()
    assert 0.18 <= throttle.pause() <= 0.4
    throttle.request()
    wait_renders(render, 2)
    assert len(render.times) == 2
    assert render.times[1] - render.times[0] >= 0.18
    assert throttle.cpu_seconds >= 0.035


def test_cheap_renders_are_not_slowed_by_the_cpu_budget() -> None:
    render = Recorder()
    throttle = Throttle(render, max_per_second=100, cpu_budget=0.5)
    throttle.request()
    time.sleep(0.02)
    throttle.request()
    assert len(render.times) == 2  # past the 10 ms pause: rendered at once, no timer


def test_now_renders_at_once_even_inside_a_pause() -> None:
    render = Recorder()
    throttle = Throttle(render, max_per_second=1)
    throttle.request()
    throttle.now()
    throttle.now()
    assert len(render.times) == 3


def test_a_failing_render_does_not_stop_later_renders() -> None:
    render = Recorder(failures=2)
    throttle = Throttle(render, max_per_second=20)
    throttle.now()  # fails on the caller's thread: not raised
    throttle.request()  # inside the pause: renders (and fails) on the timer thread
    wait_renders(render, 2)
    time.sleep(0.06)
    throttle.request()
    wait_renders(render, 3)
    assert len(render.times) == 3 and render.failures == 0
    assert throttle.renders == 3


def test_after_stop_nothing_renders_not_even_a_pending_request() -> None:
    render = Recorder()
    throttle = Throttle(render, max_per_second=10)
    throttle.request()
    throttle.request()  # pending for the end of the pause
    throttle.stop()
    throttle.now()
    throttle.request()
    time.sleep(0.2)
    assert len(render.times) == 1
