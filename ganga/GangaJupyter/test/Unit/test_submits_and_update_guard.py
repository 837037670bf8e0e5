"""What GangaJupyter keeps about Ganga's submits (``Monitor.submits``) and the guard every backend update passes
(``Monitor.update_guard``), with small stand-ins for Ganga's jobs: only the attributes these modules read."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

from GangaJupyter.Lib.Monitor import submits
from GangaJupyter.Lib.Monitor.update_guard import one_update_per_job


class FakeJob:
    """A job as the guard sees it: its id, status, master, and whether this session holds its lock (Ganga's
    ``_registry_locked`` on the root job; a job in a registry that another session holds has it False)."""

    def __init__(self, fqid: str, status: str = "running", master: "FakeJob | None" = None, held: bool = True) -> None:
        self.fqid, self.status, self.master = fqid, status, master
        self._registry_locked, self._registry = held, object()

    def getFQID(self, separator: str) -> str:
        return self.fqid

    def _getRoot(self) -> "FakeJob":
        return self.master._getRoot() if self.master is not None else self


def test_submit_in_progress_until_submit_returns_then_the_callbacks_run():
    job = FakeJob("41")
    sub = FakeJob("41.0", master=job)
    seen: list[tuple[str, bool]] = []
    submits.after_submit(lambda j: seen.append((j.fqid, submits.submit_in_progress(j))) if j is job else None)
    assert not submits.submit_in_progress(job)
    with submits.submitting(job):
        assert submits.submit_in_progress(job) and submits.submit_in_progress(sub)  # a subjob asks its master
        assert seen == []
    assert seen == [("41", False)] and not submits.submit_in_progress(sub)


def test_a_failed_submit_still_ends_and_calls_back():
    job = FakeJob("42")
    seen: list[str] = []
    submits.after_submit(lambda j: seen.append(j.fqid) if j is job else None)
    with pytest.raises(RuntimeError, match="refused"):
        with submits.submitting(job):
            raise RuntimeError("refused")
    assert seen == ["42"] and not submits.submit_in_progress(job)


def test_held_by_submit_only_while_holding():
    job = FakeJob("43")
    with submits.holding(job):
        assert submits.held_by_submit(job) and submits.held_by_submit(FakeJob("43.1", master=job))
        assert not submits.submit_in_progress(job)  # the two are separate: Ganga may need one and not the other
    assert not submits.held_by_submit(job)


def test_a_second_update_of_a_job_being_updated_becomes_one_more_read_by_the_first():
    job = FakeJob("7")
    reading, release = threading.Event(), threading.Event()
    calls: list[list[str]] = []
    running = []

    def update(jobs):
        running.append(1)
        assert len(running) == 1, "two updates of one job at once"
        calls.append([j.fqid for j in jobs])
        if len(calls) == 1:
            reading.set()
            release.wait(5)
        running.pop()

    guarded = one_update_per_job(update)
    first = threading.Thread(target=guarded, args=([job],))
    first.start()
    assert reading.wait(5)
    started = time.monotonic()
    guarded([job])  # returns at once: the first update holds the job
    assert time.monotonic() - started < 1 and calls == [["7"]]
    release.set()
    first.join(5)
    assert calls == [["7"], ["7"]]  # the change the second caller saw is read by the first


def test_an_ended_job_is_not_updated_and_an_other_job_is_not_held_back():
    done, active = FakeJob("8", status="completed"), FakeJob("9")
    calls: list[list[str]] = []
    one_update_per_job(lambda jobs: calls.append([j.fqid for j in jobs]))([done, active])
    assert calls == [["9"]]


def test_async_updates_of_one_job_never_overlap():
    job = FakeJob("10")
    calls, overlapping = [], []

    async def update(jobs):
        overlapping.append(1)
        assert len(overlapping) == 1
        calls.append(jobs[0].fqid)
        await asyncio.sleep(0.02)
        overlapping.pop()

    guarded = one_update_per_job(update)
    assert asyncio.iscoroutinefunction(guarded) and guarded.one_update_per_job

    async def at_once():
        await asyncio.gather(guarded([job]), guarded([job]), guarded([job]))

    asyncio.run(at_once())
    assert calls == ["10", "10"]  # the first read, and one more for the callers that found it held


def test_a_job_another_session_holds_is_left_to_it():
    """Several sessions on one gangadir: only the session holding a job's lock updates it."""
    updated: list[str] = []
    ours, theirs = FakeJob("1"), FakeJob("2", held=False)
    theirs_subjob = FakeJob("2.0", master=theirs)
    one_update_per_job(lambda jobs: updated.extend(j.fqid for j in jobs))([ours, theirs, theirs_subjob])
    assert updated == ["1"]
